/**
 * The daemon runs each check-in as a child `abbot run` process, so tests that exercise it for real
 * need an `abbot` a child Node can start from this source tree. This transpiles the client's
 * sources (TypeScript's own transpileModule: types erased, nothing bundled) into a folder under
 * test-output/ (inside the project, so `node_modules` resolves) with a copy of package.json, and
 * returns the argv that starts that CLI.
 */
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const PROJECT = fileURLToPath(new URL('../../../', import.meta.url));
const SOURCES = ['lib', 'formats', 'catalogs', 'manifests', 'client'];

async function* tsFiles(dir: string): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* tsFiles(path);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) yield path;
  }
}

/** A transpiled copy of the client: `command` starts its CLI; `remove()` deletes it. */
export interface AbbotFromSource {
  command: string[];
  remove(): Promise<void>;
}

/** Transpiles the sources into a fresh folder and writes a launcher like bin/abbot. */
export async function abbotFromSource(): Promise<AbbotFromSource> {
  const out = join(PROJECT, 'test-output', `abbot-from-source-${process.pid}-${Date.now()}`);
  for (const folder of SOURCES) {
    for await (const file of tsFiles(join(PROJECT, folder))) {
      const { outputText } = ts.transpileModule(await readFile(file, 'utf8'), {
        fileName: file,
        compilerOptions: {
          module: ts.ModuleKind.ESNext,
          target: ts.ScriptTarget.ES2022,
          verbatimModuleSyntax: true,
        },
      });
      const target = join(out, relative(PROJECT, file)).replace(/\.ts$/, '.js');
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, outputText);
    }
  }
  // ESM "type" and lib/version.ts's version both come from package.json.
  await copyFile(join(PROJECT, 'package.json'), join(out, 'package.json'));
  const launcher = join(out, 'abbot.js');
  await writeFile(
    launcher,
    [
      "const { runClientCli } = await import('./client/cli.js');",
      'process.exitCode = await runClientCli(process.argv.slice(2), {',
      '  stdout: process.stdout,',
      '  stderr: process.stderr,',
      '  env: process.env,',
      '});',
      '',
    ].join('\n'),
  );
  return {
    command: [process.execPath, launcher],
    remove: () => rm(out, { recursive: true, force: true }),
  };
}

import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DurableJsonAdapter } from '../../../client/state/durable-adapter.js';
import { isAppError } from '../../../lib/errors.js';
import { memoryLogger } from '../../../lib/log.js';

let dir: string;
let file: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'abbot-state-'));
  file = join(dir, 'state.json');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs `node` with `args`; resolves with the exit code and output once it exits. */
function runNode(
  args: string[],
): Promise<{ code: number | null; stderr: string; pid: number | undefined }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stderr, pid: child.pid }));
  });
}

/** The pid of a process that has already exited. */
async function deadPid(): Promise<number> {
  const { pid } = await runNode(['-e', '']);
  if (pid === undefined) throw new Error('no pid');
  return pid;
}

/**
 * Writes a module-loader hook that lets a plain `node` child import this project's TypeScript
 * sources (type-stripped with the project's own TypeScript), and returns the --import argument.
 */
async function tsLoader(into: string): Promise<string> {
  const typescript = pathToFileURL(createRequire(import.meta.url).resolve('typescript')).href;
  const hooks = join(into, 'ts-hooks.mjs');
  await writeFile(
    hooks,
    `import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import ts from ${JSON.stringify(typescript)};
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (e) {
    if (specifier.endsWith('.js') && context.parentURL?.endsWith('.ts'))
      return next(specifier.slice(0, -3) + '.ts', context);
    throw e;
  }
}
export async function load(url, context, next) {
  if (!url.endsWith('.ts')) return next(url, context);
  const path = fileURLToPath(url);
  const { outputText } = ts.transpileModule(await readFile(path, 'utf8'), {
    fileName: path,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  });
  return { format: 'module', source: outputText, shortCircuit: true };
}
`,
  );
  const register = join(into, 'ts-register.mjs');
  await writeFile(
    register,
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
  );
  return pathToFileURL(register).href;
}

const adapterUrl = pathToFileURL(
  fileURLToPath(new URL('../../../client/state/durable-adapter.ts', import.meta.url)),
).href;

describe('DurableJsonAdapter', () => {
  it('reads back what it wrote', async () => {
    const value = { version: 1, history: [{ name: 'Firefox', at: '2026-01-02T03:04:05.000Z' }] };
    await new DurableJsonAdapter<typeof value>(file).write(value);
    expect(await new DurableJsonAdapter<typeof value>(file).read()).toEqual(value);
  });

  it('reads a missing file as null', async () => {
    expect(await new DurableJsonAdapter(file).read()).toBeNull();
  });

  it('creates the folder it writes into', async () => {
    const nested = join(dir, 'Library', 'Abbot', 'state.json');
    await new DurableJsonAdapter(nested).write({ a: 1 });
    expect(JSON.parse(await readFile(nested, 'utf8'))).toEqual({ a: 1 });
  });

  it.skipIf(process.platform === 'win32')('writes the file with mode 0600', async () => {
    await writeFile(file, '{}', { mode: 0o644 });
    await new DurableJsonAdapter(file).write({ a: 1 });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('leaves neither a lock nor a temp file behind', async () => {
    await new DurableJsonAdapter(file).write({ a: 1 });
    expect(await readdir(dir)).toEqual(['state.json']);
  });

  it('moves a corrupt file aside with a warning and reads it as null', async () => {
    await writeFile(file, '{"version": 1, "history": [');
    const logger = memoryLogger();
    const adapter = new DurableJsonAdapter(file, {
      logger,
      now: () => new Date('2026-03-04T05:06:07.089Z'),
    });
    expect(await adapter.read()).toBeNull();
    const aside = `${file}.corrupt-2026-03-04T05-06-07-089Z`;
    expect(await readFile(aside, 'utf8')).toBe('{"version": 1, "history": [');
    expect(await readdir(dir)).toEqual(['state.json.corrupt-2026-03-04T05-06-07-089Z']);
    expect(logger.entries).toMatchObject([{ level: 'warn', event: 'state.corrupt' }]);
    expect(logger.entries[0]?.message).toContain(aside);
  });

  it('writes a fresh file after recovering from a corrupt one', async () => {
    await writeFile(file, '\0\0\0');
    const adapter = new DurableJsonAdapter<{ a: number }>(file);
    expect(await adapter.read()).toBeNull();
    await adapter.write({ a: 2 });
    expect(await adapter.read()).toEqual({ a: 2 });
  });

  it('treats JSON its parser refuses like a corrupt file', async () => {
    await writeFile(file, '"just a string"');
    const adapter = new DurableJsonAdapter<{ a: number }>(file, {
      parse: (v) => (typeof v === 'object' && v !== null ? (v as { a: number }) : undefined),
    });
    expect(await adapter.read()).toBeNull();
    expect((await readdir(dir)).some((n) => n.startsWith('state.json.corrupt-'))).toBe(true);
  });

  it('peeks at a corrupt file without moving it', async () => {
    await writeFile(file, 'nope');
    const result = await new DurableJsonAdapter(file).peek();
    expect(result).toMatchObject({ state: 'corrupt' });
    expect(await readdir(dir)).toEqual(['state.json']);
  });

  it('serialises concurrent writes from one process', async () => {
    const adapter = new DurableJsonAdapter<{ i: number }>(file);
    const other = new DurableJsonAdapter<{ i: number }>(file);
    await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? adapter : other).write({ i })));
    expect(await adapter.read()).toEqual({ i: 19 });
    expect(await readdir(dir)).toEqual(['state.json']);
  });

  it('keeps the old state readable when a writer died between temp write and rename', async () => {
    await new DurableJsonAdapter(file).write({ generation: 1 });
    // What writeFileAtomic leaves when killed before its rename: a temp file beside the target.
    const leftover = join(dir, `.state.json.${await deadPid()}.deadbeef.tmp`);
    await writeFile(leftover, '{"generation": 2, "hist');
    const adapter = new DurableJsonAdapter<{ generation: number }>(file);
    expect(await adapter.read()).toEqual({ generation: 1 });
    await adapter.write({ generation: 3 });
    expect(await adapter.read()).toEqual({ generation: 3 });
    expect(await readdir(dir)).toEqual(['state.json']);
  });

  it('takes over a lock left by a dead process', async () => {
    await writeFile(
      `${file}.lock`,
      JSON.stringify({ pid: await deadPid(), startedAt: '2026-01-01T00:00:00Z', command: 'x' }),
    );
    await new DurableJsonAdapter(file).write({ a: 1 });
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ a: 1 });
  });

  it('waits for a live lock holder and gives up after its timeout', async () => {
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)'], {
      stdio: 'ignore',
    });
    try {
      await writeFile(
        `${file}.lock`,
        JSON.stringify({ pid: holder.pid, startedAt: new Date().toISOString(), command: 'x' }),
      );
      const adapter = new DurableJsonAdapter(file, { lockTimeoutMs: 150 });
      const error = await adapter.write({ a: 1 }).catch((e: unknown) => e);
      expect(isAppError(error, 'ALREADY_RUNNING')).toBe(true);
      expect(await readdir(dir)).toEqual(['state.json.lock']);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('never lets two writing processes produce unparseable JSON', async () => {
    const register = await tsLoader(dir);
    const writer = join(dir, 'writer.mjs');
    await writeFile(
      writer,
      `const [adapterUrl, file, id] = process.argv.slice(2);
const { DurableJsonAdapter } = await import(adapterUrl);
const adapter = new DurableJsonAdapter(file);
// Large enough that a torn or interleaved write could not look like valid JSON.
const padding = 'x'.repeat(64 * 1024);
for (let i = 0; i < 50; i++) await adapter.write({ writer: id, i, padding });
`,
    );
    await new DurableJsonAdapter(file).write({ writer: 'none', i: -1, padding: '' });

    let running = true;
    const children = Promise.all(
      ['a', 'b'].map((id) => runNode(['--import', register, writer, adapterUrl, file, id])),
    ).finally(() => (running = false));
    // The third loop: read as fast as possible while both children write.
    let reads = 0;
    const unparsable: string[] = [];
    while (running) {
      const text = await readFile(file, 'utf8');
      try {
        JSON.parse(text);
      } catch {
        unparsable.push(text.slice(0, 80));
      }
      reads++;
    }
    const results = await children;
    for (const r of results) expect(r, r.stderr).toMatchObject({ code: 0 });
    expect(unparsable).toEqual([]);
    expect(reads).toBeGreaterThan(0);
    const final = JSON.parse(await readFile(file, 'utf8')) as { writer: string; i: number };
    expect(['a', 'b']).toContain(final.writer);
    expect(final.i).toBe(49);
    expect((await readdir(dir)).filter((n) => n.startsWith('state.json'))).toEqual(['state.json']);
  }, 60_000);
});

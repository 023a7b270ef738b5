/**
 * Fake macOS command-line tools for platform tests: small shell scripts placed where the macOS
 * platform looks for Apple's tools (under a test's command root). Each logs its argv and prints
 * recorded output; the source of that output is named in the script's comment.
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * Writes a fake tool at `<commandRoot><macPath>`: it appends its argv (tab-separated) to `argvLog`
 * and runs `body`, which can `cat "$OUT.<name>.out"` to print the `outputs` written beside it, and
 * find flag files the test drops in `$SEEN` (the command root).
 */
export async function writeFakeTool(
  commandRoot: string,
  argvLog: string,
  macPath: string,
  source: string,
  body: string,
  outputs: Record<string, string> = {},
): Promise<void> {
  const file = join(commandRoot, macPath);
  await mkdir(dirname(file), { recursive: true });
  for (const [name, text] of Object.entries(outputs)) await writeFile(`${file}.${name}.out`, text);
  await writeFile(
    file,
    [
      '#!/bin/sh',
      `# Fake ${macPath} for tests. Output: ${source}`,
      `{ printf '%s' "${macPath}"; for a in "$@"; do printf '\\t%s' "$a"; done; printf '\\n'; } >> "${argvLog}"`,
      `OUT="${file}"`,
      `SEEN="${commandRoot}"`,
      body,
      '',
    ].join('\n'),
  );
  await chmod(file, 0o755);
}

/** The argv lines the fakes logged, in call order. */
export async function readToolCalls(argvLog: string): Promise<string[][]> {
  const text = await readFile(argvLog, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t'));
}

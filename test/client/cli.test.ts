import { describe, expect, it } from 'vitest';
import { runClientCli } from '../../client/cli.js';

async function abbot(args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runClientCli(args, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: {},
  });
  return { code, stdout, stderr };
}

describe('abbot CLI', () => {
  it('prints the package version', async () => {
    const r = await abbot(['--version']);
    expect(r).toEqual({ code: 0, stdout: '0.1.0\n', stderr: '' });
  });

  it('exits 2 with a one-line error for an unknown command', async () => {
    const r = await abbot(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('abbot: unknown command "frobnicate" (run `abbot --help` for usage)\n');
  });

  it('exits 2 and prints usage when no command is given', async () => {
    const r = await abbot([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^usage: abbot/);
  });
});

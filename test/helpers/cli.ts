/** Runs the `repo` CLI in-process with captured output. */
import { runRepoCli } from '../../repo-tools/cli.js';

/** Output and exit code of one CLI run. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `repo ARGS…` with stdout/stderr captured (neither is a TTY). */
export async function repoCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runRepoCli(args, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: { ...process.env, ...env },
    cwd: process.cwd(),
  });
  return { code, stdout, stderr };
}

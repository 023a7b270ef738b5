/** Runs the `repo` and `abbot` CLIs in-process with captured output. */
import { runClientCli } from '../../client/cli.js';
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

/** Runs `abbot ARGS…` in-process with captured output (neither stream is a TTY). */
export async function abbotCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runClientCli(args, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env,
  });
  return { code, stdout, stderr };
}

/**
 * The `abbot` client CLI entry: parses the command line and turns errors into exit codes
 * (0 success, 1 runtime failure, 2 bad input or usage). Commands are added here as they land.
 */
import { AppError, describeError } from '../lib/errors.js';
import { abbotVersion } from '../lib/version.js';

/** Where the CLI writes; injected so tests can capture output. */
export interface ClientIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  env: NodeJS.ProcessEnv;
}

const USAGE = `usage: abbot <command> [options]

Abbot's client: checks in with a Munki-format repo and keeps this Mac's software up to date.

options:
  -V, --version   print the client version
  -h, --help      show this help

The client commands (check, install, run, daemon, selfservice, status, config) are being built;
see the README for what this build supports.`;

/** Runs the `abbot` CLI with `argv` (without node and script) and returns the exit code. */
export async function runClientCli(argv: string[], io: ClientIo): Promise<number> {
  const [command] = argv;
  try {
    if (command === '-V' || command === '--version') {
      io.stdout.write(`${abbotVersion()}\n`);
      return 0;
    }
    if (command === '-h' || command === '--help' || command === 'help') {
      io.stdout.write(USAGE + '\n');
      return 0;
    }
    if (command === undefined) {
      io.stderr.write(USAGE + '\n');
      return 2;
    }
    throw new AppError('USAGE', `unknown command "${command}"`, {
      hint: 'run `abbot --help` for usage',
    });
  } catch (e) {
    io.stderr.write(`abbot: ${describeError(e)}\n`);
    return e instanceof AppError ? e.exitCode : 1;
  }
}

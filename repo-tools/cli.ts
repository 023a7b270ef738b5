/**
 * The `repo` admin CLI: parses arguments, runs one command, prints, and turns errors into exit codes
 * (0 success, 1 runtime failure, 2 bad input or usage). The only place in repo-tools that exits.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { AppError, describeError } from '../lib/errors.js';
import { streamLogger } from '../lib/log.js';
import { terminalProgress } from '../lib/progress.js';

/** Where the CLI writes; injected so tests can capture output. */
export interface CliIo {
  stdout: { write(s: string): unknown; isTTY?: boolean; columns?: number };
  stderr: { write(s: string): unknown; isTTY?: boolean; columns?: number };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

const USAGE = `usage: repo <command> [options]

commands:
  makecatalogs [REPO] [--skip-pkg-check] [--force] [--no-cache]
                       rebuild catalogs/ and icons/_icon_hashes.plist from pkgsinfo/
  check [REPO]         validate pkginfo files and manifests, and cross-check references

common options:
  -q, --quiet          print only warnings and errors
  -v, --verbose        print every item as it is added
  -h, --help           show this help

REPO defaults to the ABBOT_REPO environment variable, else the current folder.`;

type Options = NonNullable<ParseArgsConfig['options']>;

const COMMON: Options = {
  quiet: { type: 'boolean', short: 'q' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
};

function parse(args: string[], options: Options): ReturnType<typeof parseArgs> {
  try {
    return parseArgs({
      args,
      options: { ...COMMON, ...options },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    throw new AppError('USAGE', describeError(e), { hint: 'run `repo --help` for usage' });
  }
}

function repoArg(positionals: string[], io: CliIo): string {
  if (positionals.length > 1) {
    throw new AppError('USAGE', `expected at most one REPO argument, got ${positionals.length}`);
  }
  return positionals[0] ?? io.env['ABBOT_REPO'] ?? io.cwd;
}

/** Runs the `repo` CLI with `argv` (without node and script) and returns the exit code. */
export async function runRepoCli(argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
      io.stdout.write(USAGE + '\n');
      return command === undefined ? 2 : 0;
    }
    switch (command) {
      case 'makecatalogs': {
        const { values, positionals } = parse(rest, {
          'skip-pkg-check': { type: 'boolean', short: 's' },
          force: { type: 'boolean', short: 'f' },
          'no-cache': { type: 'boolean' },
        });
        if (values['help']) return (io.stdout.write(USAGE + '\n'), 0);
        const quiet = values['quiet'] === true;
        const logger = streamLogger({
          out: io.stdout,
          err: io.stderr,
          quiet,
          verbose: values['verbose'] === true,
        });
        // Commands load on demand: makecatalogs must not pay for check's schema compiler at start-up.
        const { makeCatalogs } = await import('./commands/makecatalogs.js');
        const result = await makeCatalogs({
          repo: repoArg(positionals, io),
          skipPkgCheck: values['skip-pkg-check'] === true,
          force: values['force'] === true,
          cache: values['no-cache'] !== true,
          listItems: values['verbose'] === true,
          logger,
          progress: terminalProgress(io.stderr, { quiet }),
        });
        return result.exitCode;
      }
      case 'check': {
        const { values, positionals } = parse(rest, {});
        if (values['help']) return (io.stdout.write(USAGE + '\n'), 0);
        const logger = streamLogger({
          out: io.stdout,
          err: io.stderr,
          quiet: values['quiet'] === true,
        });
        const { checkRepo } = await import('./commands/check.js');
        const result = await checkRepo({ repo: repoArg(positionals, io), logger });
        return result.exitCode;
      }
      default:
        throw new AppError('USAGE', `unknown command "${command}"`, {
          hint: 'run `repo --help` for usage',
        });
    }
  } catch (e) {
    io.stderr.write(`repo: ${describeError(e)}\n`);
    if (e instanceof AppError) return e.exitCode;
    if (e instanceof Error && process.env['ABBOT_DEBUG']) io.stderr.write(`${e.stack ?? ''}\n`);
    return 1;
  }
}

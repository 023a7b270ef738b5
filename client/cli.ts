/**
 * The `abbot` client CLI: parses the command line, builds the platform once (the composition root:
 * `--root DIR` selects the sandbox, otherwise macOS), runs one command, and turns errors into exit
 * codes (0 success, 1 runtime failure, 2 bad input or usage).
 */
import { resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { AppError, describeError } from '../lib/errors.js';
import { streamLogger, type Logger } from '../lib/log.js';
import { terminalProgress, type ProgressStream } from '../lib/progress.js';
import { abbotVersion } from '../lib/version.js';
import { loadConfig, formatConfig } from './config.js';
import { macosPlatform } from './platform/macos/macos-platform.js';
import type { Platform } from './platform/platform.js';
import { sandboxPlatform } from './platform/sandbox/sandbox-platform.js';

/** Where the CLI writes; injected so tests can capture output. */
export interface ClientIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  env: NodeJS.ProcessEnv;
}

const USAGE = `usage: abbot <command> [options]

Abbot's client: checks in with a Munki-format repo and keeps this Mac's software up to date.

commands:
  check [--json]     sync manifests and catalogs, decide what to install, update and remove;
                     writes InstallInfo.plist and prints the plan (nothing is installed)
  config --show      print every preference, its value and where it came from
  install            download, verify and apply the plan of the last check (removals first)
  run --auto         what launchd runs hourly: check, then install what may be installed now
                     (unattended items, unless no one is logged in: then everything)
  status [--json]    show the last check and run, pending installs and removals, whether a
                     restart is needed, and recent failures (changes nothing)

common options:
  --root DIR         use the sandbox platform: DIR stands in for /
  --config FILE      a plist of preferences for this run
  --repo-url URL     SoftwareRepoURL for this run
  --client-id ID     ClientIdentifier for this run
  -q, --quiet        print only warnings and errors
  -v, --verbose      print debugging detail
  -V, --version      print the client version
  -h, --help         show this help

The daemon and selfservice commands are being built; see the README.`;

type Options = NonNullable<ParseArgsConfig['options']>;

const COMMON: Options = {
  root: { type: 'string' },
  config: { type: 'string' },
  'repo-url': { type: 'string' },
  'client-id': { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
};

interface Common {
  values: Record<string, string | boolean | undefined>;
  platform: Platform;
  logger: Logger;
}

function parse(args: string[], options: Options): ReturnType<typeof parseArgs> {
  try {
    return parseArgs({
      args,
      options: { ...COMMON, ...options },
      allowPositionals: false,
      strict: true,
    });
  } catch (e) {
    throw new AppError('USAGE', describeError(e), { hint: 'run `abbot --help` for usage' });
  }
}

function common(args: string[], options: Options, io: ClientIo): Common {
  const { values } = parse(args, options);
  const logger = streamLogger({
    out: io.stdout,
    err: io.stderr,
    quiet: values['quiet'] === true,
    verbose: values['verbose'] === true,
  });
  const root = typeof values['root'] === 'string' ? resolve(values['root']) : undefined;
  // The one place the platform is chosen.
  const platform = root ? sandboxPlatform(root, { logger }) : macosPlatform({ logger });
  return { values: values as Common['values'], platform, logger };
}

async function configFor(c: Common): Promise<Awaited<ReturnType<typeof loadConfig>>> {
  const str = (k: string): string | undefined =>
    typeof c.values[k] === 'string' ? (c.values[k] as string) : undefined;
  return loadConfig({
    paths: c.platform.paths,
    flags: { repoUrl: str('repo-url'), clientId: str('client-id'), configFile: str('config') },
    logger: c.logger,
  });
}

/** Runs the `abbot` CLI with `argv` (without node and script) and returns the exit code. */
export async function runClientCli(argv: string[], io: ClientIo): Promise<number> {
  const [command, ...rest] = argv;
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
    switch (command) {
      case 'check': {
        const c = common(rest, { json: { type: 'boolean' } }, io);
        if (c.values['help']) return (io.stdout.write(USAGE + '\n'), 0);
        const config = await configFor(c);
        // Loaded on demand so `abbot config` and `--help` stay fast.
        const { runCheck } = await import('./check/run-check.js');
        const outcome = await runCheck({ platform: c.platform, config, logger: c.logger });
        if (c.values['json']) {
          const { toCheckJson } = await import('./plan/index.js');
          io.stdout.write(
            JSON.stringify(toCheckJson(outcome.plan, outcome.manifest), null, 2) + '\n',
          );
        } else if (!c.values['quiet']) {
          const { formatCheck } = await import('./check/format-plan.js');
          io.stdout.write(formatCheck(outcome));
        }
        return 0;
      }
      case 'install':
      case 'run': {
        const c = common(rest, { auto: { type: 'boolean' } }, io);
        if (c.values['help']) return (io.stdout.write(USAGE + '\n'), 0);
        if (command === 'run' && !c.values['auto']) {
          throw new AppError('USAGE', 'run needs --auto', { hint: 'abbot run --auto' });
        }
        const config = await configFor(c);
        const { runInstall } = await import('./install/run-install.js');
        const progress = terminalProgress(io.stderr as ProgressStream, {
          quiet: c.values['quiet'] === true,
        });
        if (command === 'install') {
          const outcome = await runInstall({
            platform: c.platform,
            config,
            logger: c.logger,
            mode: 'all',
            kind: 'install',
            progress,
          });
          return outcome.results.some((r) => r.result === 'failed') ? 1 : 0;
        }
        // run --auto: check, then install what may be installed with or without a user.
        const { runCheck } = await import('./check/run-check.js');
        let checkFailed = false;
        let facts;
        try {
          facts = (await runCheck({ platform: c.platform, config, logger: c.logger })).facts;
        } catch (e) {
          // Munki carries on with the previous plan when a check fails; the exit code still says so.
          if (e instanceof AppError && e.code === 'ALREADY_RUNNING') throw e;
          c.logger.error(
            'run.check.failed',
            `check failed: ${describeError(e)}; installing from the previous plan`,
          );
          checkFailed = true;
        }
        const user = await c.platform.consoleUser();
        if (config.SuppressAutoInstall) {
          c.logger.info(
            'run.suppressed',
            'SuppressAutoInstall is set: nothing is installed automatically.',
          );
          return checkFailed ? 1 : 0;
        }
        const mode =
          user === undefined && !config.SuppressLoginwindowInstall ? 'all' : 'unattended';
        const outcome = await runInstall({
          platform: c.platform,
          config,
          logger: c.logger,
          mode,
          kind: 'auto',
          progress,
          ...(facts ? { facts } : {}),
        });
        return checkFailed || outcome.results.some((r) => r.result === 'failed') ? 1 : 0;
      }
      case 'config': {
        const c = common(rest, { show: { type: 'boolean' } }, io);
        if (c.values['help'] || !c.values['show']) {
          if (!c.values['help'])
            throw new AppError('USAGE', 'config needs --show', { hint: 'abbot config --show' });
          io.stdout.write(USAGE + '\n');
          return 0;
        }
        io.stdout.write(formatConfig(await configFor(c)));
        return 0;
      }
      case 'status': {
        const c = common(rest, { json: { type: 'boolean' } }, io);
        if (c.values['help']) return (io.stdout.write(USAGE + '\n'), 0);
        // No preferences are loaded: status must work even when they are broken.
        const { readStatus, formatStatus, formatStatusJson } = await import('./status/status.js');
        const report = await readStatus(c.platform.paths);
        io.stdout.write(c.values['json'] ? formatStatusJson(report) : formatStatus(report));
        return 0;
      }
      default:
        throw new AppError('USAGE', `unknown command "${command}"`, {
          hint: 'run `abbot --help` for usage',
        });
    }
  } catch (e) {
    io.stderr.write(`abbot: ${describeError(e)}\n`);
    if (!(e instanceof AppError) && e instanceof Error && io.env['ABBOT_DEBUG'])
      io.stderr.write(`${e.stack ?? ''}\n`);
    return e instanceof AppError ? e.exitCode : 1;
  }
}

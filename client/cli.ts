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
  run --auto         check, then install what may be installed now (unattended items, unless
                     no one is logged in: then everything); asks the daemon when it runs
  run --item NAME    check, then install or remove just this optional item (repeatable)
  run --bootstrap    one bootstrap pass: check, then install everything in the plan
      --no-daemon    run in this process even when the daemon is listening
  daemon             the long-running service launchd starts: hourly check-ins, the run queue,
                     self service, bootstrap at startup
  bootstrap --set | --clear | --status
                     bootstrap mode: at startup, install everything before anyone works
  status [--json]    show the last check and run, pending installs and removals, whether a
                     restart is needed, and recent failures (changes nothing)
  selfservice list [--json] | add NAME | remove NAME | url | open
                     the optional software on offer: list it, install or remove an item now,
                     print the self-service page's address (with your token) or open it

common options:
  --root DIR         use the sandbox platform: DIR stands in for /
  --config FILE      a plist of preferences for this run
  --repo-url URL     SoftwareRepoURL for this run
  --client-id ID     ClientIdentifier for this run
  -q, --quiet        print only warnings and errors
  -v, --verbose      print debugging detail
  -V, --version      print the client version
  -h, --help         show this help`;

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
      case 'install': {
        const c = common(rest, {}, io);
        if (c.values['help']) return (io.stdout.write(USAGE + '\n'), 0);
        const config = await configFor(c);
        const { runInstall } = await import('./install/run-install.js');
        const outcome = await runInstall({
          platform: c.platform,
          config,
          logger: c.logger,
          mode: 'all',
          kind: 'install',
          progress: terminalProgress(io.stderr as ProgressStream, {
            quiet: c.values['quiet'] === true,
          }),
        });
        return outcome.results.some((r) => r.result === 'failed') ? 1 : 0;
      }
      case 'run': {
        const c = common(
          rest,
          {
            auto: { type: 'boolean' },
            bootstrap: { type: 'boolean' },
            item: { type: 'string', multiple: true },
            'no-daemon': { type: 'boolean' },
          },
          io,
        );
        if (c.values['help']) return (io.stdout.write(USAGE + '\n'), 0);
        const items = (c.values['item'] as unknown as string[] | undefined) ?? [];
        const kinds = [c.values['auto'] === true, c.values['bootstrap'] === true, items.length > 0];
        if (kinds.filter(Boolean).length !== 1) {
          throw new AppError('USAGE', 'run needs one of --auto, --bootstrap or --item NAME', {
            hint: 'abbot run --auto',
          });
        }
        if (!c.values['bootstrap'] && !c.values['no-daemon']) {
          // A running daemon owns the one run queue: ask it instead of racing it for the lock.
          const { runThroughDaemon } = await import('./run/run-through-daemon.js');
          const request =
            items.length > 0
              ? { reason: 'selfservice' as const, items }
              : { reason: 'cli' as const };
          const quiet = c.values['quiet'] === true;
          const code = await runThroughDaemon(c.platform.paths, request, io, { quiet });
          if (code !== undefined) return code;
        }
        const config = await configFor(c);
        if (items.length > 0) {
          const { runSelfServiceRequest } = await import('./selfservice/targeted-run.js');
          const outcome = await runSelfServiceRequest({
            platform: c.platform,
            config,
            logger: c.logger,
            items,
          });
          return outcome.results.some((r) => r.result === 'failed') ? 1 : 0;
        }
        const { runAuto } = await import('./run/auto-run.js');
        const outcome = await runAuto({
          platform: c.platform,
          config,
          logger: c.logger,
          progress: terminalProgress(io.stderr as ProgressStream, {
            quiet: c.values['quiet'] === true,
          }),
          bootstrap: c.values['bootstrap'] === true,
        });
        return outcome.exitCode;
      }
      case 'daemon': {
        const c = common(rest, {}, io);
        if (c.values['help']) return (io.stdout.write(USAGE + '\n'), 0);
        const config = await configFor(c);
        const script = process.argv[1];
        if (script === undefined) {
          throw new AppError('USAGE', 'daemon: cannot tell how abbot was started');
        }
        // Each run is `abbot run` in a child process with this daemon's --root/--config/… flags.
        const runArgs = (['root', 'config', 'repo-url', 'client-id'] as const).flatMap((k) => {
          const v = c.values[k];
          if (typeof v !== 'string') return [];
          return [`--${k}=${k === 'root' || k === 'config' ? resolve(v) : v}`];
        });
        const { serveUntilStopped } = await import('./daemon/serve-until-stopped.js');
        await serveUntilStopped({
          platform: c.platform,
          config,
          logger: c.logger,
          abbotCommand: [process.execPath, resolve(script)],
          runArgs: c.values['verbose'] ? [...runArgs, '--verbose'] : runArgs,
          onRunOutput: (stream, text) => (stream === 'stderr' ? io.stderr : io.stdout).write(text),
        });
        return 0;
      }
      case 'bootstrap': {
        const c = common(
          rest,
          { set: { type: 'boolean' }, clear: { type: 'boolean' }, status: { type: 'boolean' } },
          io,
        );
        if (c.values['help']) return (io.stdout.write(USAGE + '\n'), 0);
        const picked = (['set', 'clear', 'status'] as const).filter((k) => c.values[k] === true);
        if (picked.length !== 1) {
          throw new AppError('USAGE', 'bootstrap needs one of --set, --clear or --status', {
            hint: 'abbot bootstrap --set',
          });
        }
        const { bootstrapCommand } = await import('./bootstrap/bootstrap-command.js');
        const config = picked[0] === 'status' ? await configFor(c) : undefined;
        io.stdout.write(await bootstrapCommand(c.platform.paths, picked[0] ?? 'status', config));
        return 0;
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
      case 'selfservice': {
        // `selfservice SUB [NAME] [options]`: what starts with `-` is left to the option parser.
        const more = [...rest];
        const sub = more[0]?.startsWith('-') ? undefined : more.shift();
        const takesName = (sub === 'add' || sub === 'remove') && !more[0]?.startsWith('-');
        const name = takesName ? more.shift() : undefined;
        const c = common(more, { json: { type: 'boolean' } }, io);
        if (c.values['help']) return (io.stdout.write(USAGE + '\n'), 0);
        const { runSelfServiceCommand } = await import('./selfservice/selfservice-command.js');
        const quiet = c.values['quiet'] === true;
        return await runSelfServiceCommand({
          sub,
          name,
          json: c.values['json'] === true,
          quiet,
          platform: c.platform,
          logger: c.logger,
          io,
          config: () => configFor(c),
          progress: terminalProgress(io.stderr as ProgressStream, { quiet }),
        });
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

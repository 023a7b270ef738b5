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
  /** Where `repo import` reads answers to its prompts (only when it is a TTY). */
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
}

const USAGE = `usage: repo <command> [options]

commands:
  makecatalogs [REPO] [--skip-pkg-check] [--force] [--no-cache]
                       rebuild catalogs/ and icons/_icon_hashes.plist from pkgsinfo/
  check [REPO]         validate pkginfo files and manifests, and cross-check references
  makepkginfo [ITEM] [options]
                       print the pkginfo of a .pkg, a .dmg (macOS only) or a --nopkg item
  import ITEM [--repo REPO] [--subdirectory DIR] [-n] [--force] [--extract-icon] [options]
                       copy ITEM into pkgs/, write its pkginfo to pkgsinfo/, rebuild catalogs/
                       (pkginfo options, as Munki spells them: --name --displayname --description
                       --pkgvers --catalog --category --developer --unattended_install
                       --minimum_os_version --maximum_os_version --RestartAction --requires
                       --update_for --installcheck_script --preinstall_script ... -f PATH
                       --installer-choices-xml --force_install_after_date --nopkg)
  manifest VERB … [--repo REPO]
                       new NAME [--catalog C]… | list | show NAME [--resolved] | find ITEM
                       add NAME ITEM [--section S] [--condition PREDICATE] | remove NAME ITEM
                       add-catalog | remove-catalog NAME CATALOG
                       add-include | remove-include NAME MANIFEST
  serve [REPO] [--port N] [--host ADDR] [--tls | --cert C --key K] [--auth USER:PASS]
                       serve the repo over HTTPS for a small site or a demo (Ctrl-C stops)

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
      case 'makepkginfo': {
        const { PKGINFO_ARGS, readPkginfoOptions } = await import('./pkginfo/options.js');
        const { values, positionals } = parse(rest, { ...PKGINFO_ARGS, repo: { type: 'string' } });
        if (values['help']) return (io.stdout.write(USAGE + '\n'), 0);
        if (positionals.length > 1) throw new AppError('USAGE', 'expected at most one ITEM');
        const logger = streamLogger({ out: io.stderr, err: io.stderr, quiet: !!values['quiet'] });
        const { makepkginfoCommand } = await import('./commands/makepkginfo.js');
        const { pkginfoContext } = await import('./pkginfo/context.js');
        const repo = values['repo'] ?? io.env['ABBOT_REPO'];
        io.stdout.write(
          await makepkginfoCommand({
            item: positionals[0],
            options: readPkginfoOptions(values),
            context: pkginfoContext(
              io.env,
              logger,
              typeof repo === 'string' ? repo : undefined,
              terminalProgress(io.stderr, { quiet: !!values['quiet'] }),
            ),
            logger,
          }),
        );
        return 0;
      }
      case 'import': {
        const { PKGINFO_ARGS, IMPORT_ARGS, readImportFlags, readPkginfoOptions } =
          await import('./pkginfo/options.js');
        const { values, positionals } = parse(rest, { ...PKGINFO_ARGS, ...IMPORT_ARGS });
        if (values['help']) return (io.stdout.write(USAGE + '\n'), 0);
        const { importItem } = await import('./commands/import.js');
        const { pkginfoContext } = await import('./pkginfo/context.js');
        const { terminalPrompter, noPrompter } = await import('./pkginfo/prompts.js');
        const verbose = values['verbose'] === true;
        const logger = streamLogger({ out: io.stdout, err: io.stderr, quiet: !!values['quiet'] });
        const repo = values['repo'] ?? io.env['ABBOT_REPO'] ?? io.cwd;
        const interactive = values['nointeractive'] !== true && io.stdin?.isTTY === true;
        const result = await importItem({
          item: positionals,
          repo: String(repo),
          options: readPkginfoOptions(values),
          flags: readImportFlags(values),
          context: pkginfoContext(
            io.env,
            logger,
            String(repo),
            terminalProgress(io.stderr, { quiet: !!values['quiet'] }),
          ),
          prompter: interactive && io.stdin ? terminalPrompter(io.stdin, io.stdout) : noPrompter,
          logger,
          verbose,
        });
        return result.exitCode;
      }
      case 'manifest': {
        const { values, positionals } = parse(rest, {
          repo: { type: 'string' },
          section: { type: 'string' },
          condition: { type: 'string' },
          catalog: { type: 'string', multiple: true },
          resolved: { type: 'boolean' },
        });
        const [verb, ...args] = positionals;
        if (values['help'] || verb === undefined) {
          io.stdout.write(USAGE + '\n');
          return verb === undefined ? 2 : 0;
        }
        const { runManifestCommand } = await import('./commands/manifest.js');
        const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
        return await runManifestCommand({
          repo: str(values['repo']) ?? io.env['ABBOT_REPO'] ?? io.cwd,
          verb,
          args,
          section: str(values['section']),
          condition: str(values['condition']),
          catalogs: values['catalog'] as string[] | undefined,
          isResolved: values['resolved'] === true,
          out: (line) => io.stdout.write(`${line}\n`),
          logger: streamLogger({ out: io.stdout, err: io.stderr, quiet: !!values['quiet'] }),
        });
      }
      case 'serve': {
        const { values, positionals } = parse(rest, {
          port: { type: 'string', short: 'p' },
          host: { type: 'string' },
          tls: { type: 'boolean' },
          cert: { type: 'string' },
          key: { type: 'string' },
          auth: { type: 'string' },
        });
        if (values['help']) return (io.stdout.write(USAGE + '\n'), 0);
        const { runServe } = await import('./commands/serve.js');
        const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
        const stop = new AbortController();
        const onSignal = (): void => stop.abort();
        process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
        try {
          return await runServe(
            {
              repo: repoArg(positionals, io),
              port: str(values['port']),
              host: str(values['host']),
              isTls: values['tls'] === true,
              cert: str(values['cert']),
              key: str(values['key']),
              auth: str(values['auth']),
              env: io.env,
              out: (line) => io.stdout.write(`${line}\n`),
              isQuiet: values['quiet'] === true,
              logger: streamLogger({ out: io.stdout, err: io.stderr, quiet: !!values['quiet'] }),
            },
            stop.signal,
          );
        } finally {
          process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
        }
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

/**
 * `abbot selfservice list|add|remove NAME|url|open`: self service from a terminal. `list` shows
 * what the page shows; `add` and `remove` record the choice in the SelfServeManifest exactly as the
 * page's buttons do and then run the same targeted run (check, then just that item), under the run
 * lock so they never overlap the daemon's runs; `url` prints the page's address with the console
 * user's token, and `open` hands that address to the user's browser (`open URL` on macOS; in the
 * sandbox it is printed).
 */
import { describeError, AppError, isAppError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { Progress } from '../../lib/progress.js';
import type { Config } from '../config.js';
import { macUserSession } from '../platform/macos/user-session.js';
import type { Platform } from '../platform/platform.js';
import { buildCatalogue, loadCatalogueSources, type Catalogue } from './catalogue.js';
import { assertOffered, RequestRefused } from './routes.js';
import { chooseInstall, chooseRemoval } from './self-serve-manifest.js';
import { consoleUserFinder } from './console-user.js';
import type { ItemAction } from './status.js';
import { runThroughDaemon, type RunOutputIo } from '../run/run-through-daemon.js';
import { runSelfServiceRequest } from './targeted-run.js';
import { ensureUserToken, readUserToken } from './token.js';

/** What the subcommands need; the CLI builds it. */
export interface SelfServiceCommandContext {
  platform: Platform;
  logger: Logger;
  out: { write(s: string): unknown };
}

/** The catalogue as the page would show it now. */
export async function currentCatalogue(platform: Platform): Promise<Catalogue> {
  return buildCatalogue(await loadCatalogueSources(platform.paths, new Map()));
}

/** `selfservice list`: one line per optional item (or `--json`: the items as the page has them). */
export async function listSelfService(
  ctx: SelfServiceCommandContext,
  options: { json?: boolean },
): Promise<void> {
  const catalogue = await currentCatalogue(ctx.platform);
  for (const w of catalogue.warnings) ctx.logger.warn('selfservice.list.warning', w);
  if (options.json) {
    ctx.out.write(
      JSON.stringify({ offers: catalogue.offers, pending: catalogue.pending }, null, 2) + '\n',
    );
    return;
  }
  if (catalogue.offers.length === 0) {
    ctx.out.write('Nothing is offered in self service (run abbot check first).\n');
    return;
  }
  const rows = catalogue.offers.map((o) => [o.name, o.version, o.statusText, o.displayName]);
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]?.length ?? 0), 4));
  for (const r of [['NAME', 'VERSION', 'STATUS', 'DISPLAY NAME'], ...rows]) {
    ctx.out.write(
      r
        .map((cell, i) => (i < 3 ? cell.padEnd(widths[i] ?? 0) : cell))
        .join('  ')
        .trimEnd() + '\n',
    );
  }
}

/**
 * `selfservice add|remove NAME`: records the choice, then installs or removes the item now. A
 * name the manifest does not offer (or an action its status does not allow) is bad input: exit 2,
 * nothing written. Returns the exit code.
 */
export async function changeSelfService(
  ctx: SelfServiceCommandContext & { config: Config; progress?: Progress },
  name: string,
  action: ItemAction,
  through?: { io: RunOutputIo; quiet: boolean },
): Promise<number> {
  const { platform, config, logger } = ctx;
  try {
    assertOffered(await currentCatalogue(platform), name, action);
  } catch (e) {
    if (e instanceof RequestRefused) {
      throw new AppError('USAGE', `${e.message} (optional_installs of the last check)`, {
        hint: 'abbot selfservice list shows what is offered',
      });
    }
    throw e;
  }
  await (action === 'install'
    ? chooseInstall(platform.paths, name)
    : chooseRemoval(platform.paths, name));
  logger.info('selfservice.request', `${name}: ${action} recorded in the SelfServeManifest`);
  if (through) {
    // A running daemon owns the one run queue: the run is its, and its output is printed here.
    const code = await runThroughDaemon(
      platform.paths,
      { reason: 'selfservice', items: [name] },
      through.io,
      { quiet: through.quiet },
    );
    if (code !== undefined) return code;
  }
  let outcome;
  try {
    outcome = await runSelfServiceRequest({
      platform,
      config,
      logger,
      items: [name],
      ...(ctx.progress ? { progress: ctx.progress } : {}),
    });
  } catch (e) {
    if (isAppError(e, 'ALREADY_RUNNING')) {
      throw new AppError(
        'ALREADY_RUNNING',
        `${describeError(e)}; the choice is saved and the next run does it`,
      );
    }
    throw e;
  }
  const failed = outcome.results.filter((r) => r.result !== 'success');
  for (const r of failed)
    logger.error('selfservice.item.failed', `${r.name}: ${r.reason ?? r.result}`);
  const done = outcome.results.some((r) => r.name === name && r.result === 'success');
  if (!done && failed.length === 0) {
    ctx.out.write(
      `${name}: nothing to do (${action === 'install' ? 'already installed' : 'not installed'})\n`,
    );
  }
  return failed.length > 0 ? 1 : 0;
}

/** The page's address with the console user's token (created here when the caller may). */
export async function selfServiceUrl(ctx: {
  platform: Platform;
  config: Config;
  logger: Logger;
}): Promise<string> {
  const console = await consoleUserFinder(ctx.platform, ctx.logger)();
  if (!console) {
    throw new AppError(
      'NOT_FOUND',
      'nobody is logged in at this Mac: self service is for the console user',
    );
  }
  let token: string;
  try {
    token = await readUserToken(ctx.platform.paths, console.user);
  } catch (e) {
    // Root (or the sandbox's owner) may make the token the daemon would make.
    if (!isAppError(e, 'NOT_FOUND') && !isAppError(e, 'SCHEMA_INVALID')) throw e;
    token = await ensureUserToken(ctx.platform.paths, console.user, console.owner).catch(() => {
      throw e;
    });
  }
  return `http://127.0.0.1:${ctx.config.SelfServicePort}/?token=${token}`;
}

/** `selfservice open`: hands the page's address to the browser. */
export async function openSelfService(
  ctx: SelfServiceCommandContext & { config: Config },
): Promise<void> {
  const url = await selfServiceUrl(ctx);
  if (ctx.platform.kind !== 'macos') {
    ctx.out.write(`${url}\n`);
    return;
  }
  const session = macUserSession({ commandRoot: ctx.platform.paths.root, logger: ctx.logger });
  const console = await session.consoleSession();
  // Run as root (a script, the daemon's helper): open it in the console user's session instead.
  const result =
    process.getuid?.() === 0 && console
      ? await session.runAsUser(console.uid, ['/usr/bin/open', url])
      : await session.openUrl(url);
  if (result.exitCode !== 0) {
    throw new AppError(
      'COMMAND_FAILED',
      `open could not open self service: ${result.stderr.trim()}`,
    );
  }
}

/** The CLI's view of one `abbot selfservice …` invocation. */
export interface SelfServiceInvocation {
  /** `list`, `add`, `remove`, `url` or `open`. */
  sub: string | undefined;
  /** The item, for add and remove. */
  name: string | undefined;
  json: boolean;
  quiet: boolean;
  platform: Platform;
  logger: Logger;
  io: RunOutputIo;
  /** Loads the preferences (not needed by `list`). */
  config: () => Promise<Config>;
  /** Progress of an in-process run (a terminal's progress line). */
  progress?: Progress;
}

/** Runs `abbot selfservice SUB [NAME]`; returns the exit code. */
export async function runSelfServiceCommand(inv: SelfServiceInvocation): Promise<number> {
  const ctx = { platform: inv.platform, logger: inv.logger, out: inv.io.stdout };
  switch (inv.sub) {
    case 'list':
      await listSelfService(ctx, { json: inv.json });
      return 0;
    case 'add':
    case 'remove': {
      const name = inv.name;
      if (name === undefined || name.startsWith('-')) {
        throw new AppError('USAGE', `selfservice ${inv.sub} needs the item's NAME right after it`, {
          hint: `abbot selfservice ${inv.sub} NAME`,
        });
      }
      const action: ItemAction = inv.sub === 'add' ? 'install' : 'remove';
      const config = await inv.config();
      const progress = inv.progress ? { progress: inv.progress } : {};
      return changeSelfService({ ...ctx, config, ...progress }, name, action, inv);
    }
    case 'url':
      inv.io.stdout.write(`${await selfServiceUrl({ ...ctx, config: await inv.config() })}\n`);
      return 0;
    case 'open':
      await openSelfService({ ...ctx, config: await inv.config() });
      return 0;
    default:
      throw new AppError(
        'USAGE',
        inv.sub === undefined
          ? 'selfservice needs list, add NAME, remove NAME, url or open'
          : `unknown selfservice command "${inv.sub}"`,
        { hint: 'abbot selfservice list' },
      );
  }
}

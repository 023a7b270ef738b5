/**
 * The self-service server `abbot daemon` runs: the page and its API on 127.0.0.1 only, for the
 * user logged in at the console. It keeps that user's token (created on demand, readable only by
 * them), records choices in the SelfServeManifest one at a time, and hands each request to the
 * daemon's `requestRun`, which starts a run for just that item at once. Icons are brought up to
 * date from the repo when it starts and after each run. Every few minutes it reminds the console
 * user of pending updates when a reminder is due (see notify/pending-reminder.ts).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppError, describeError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { Config } from '../config.js';
import { notifierFor } from '../notify/notify-user.js';
import { remindOfPendingUpdates } from '../notify/pending-reminder.js';
import type { Platform } from '../platform/platform.js';
import {
  buildCatalogue,
  loadCatalogueSources,
  readOptionalInstalls,
  type Catalogue,
} from './catalogue.js';
import { expectedIconHash, iconFileName, readIcon, readIconHashes, syncIcons } from './icons.js';
import { createRequestHandler } from './routes.js';
import { chooseInstall, chooseRemoval } from './self-serve-manifest.js';
import type { ItemAction, ItemActivity } from './status.js';
import { consoleUserFinder } from './console-user.js';
import { ensureUserToken } from './token.js';

/** What the daemon gives the self-service server. */
export interface SelfServiceOptions {
  platform: Platform;
  config: Config;
  logger: Logger;
  /** 0 picks a free port (tests). */
  port: number;
  /** Starts (or queues) a run that installs or removes just these items. */
  requestRun: (request: { items: string[]; reason: 'selfservice' }) => Promise<void>;
}

/** A running self-service server. */
export interface SelfServiceHandle {
  /** `http://127.0.0.1:PORT/` */
  url: string;
  close(): Promise<void>;
}

/** How often the server sees whether a reminder of pending updates is due. */
export const REMINDER_INTERVAL_MS = 5 * 60 * 1000;

// How long the console user and token are remembered: each lookup on macOS runs `stat`.
const CONSOLE_USER_TTL_MS = 5_000;

/** Starts the self-service server on 127.0.0.1:`port`. */
export async function startSelfService(options: SelfServiceOptions): Promise<SelfServiceHandle> {
  const { platform, config, logger } = options;
  const paths = platform.paths;
  const findUser = consoleUserFinder(platform, logger);
  const activity = new Map<string, ItemActivity>();
  let port = options.port;
  let known: { at: number; token: string | undefined } | undefined;
  // Choices are read, changed and written one at a time so two clicks never lose one.
  let writes: Promise<unknown> = Promise.resolve();
  let iconSync: Promise<void> | undefined;

  const token = async (): Promise<string | undefined> => {
    if (known && Date.now() - known.at < CONSOLE_USER_TTL_MS) return known.token;
    // Re-read each time the memory expires: the file is the truth (`url` may have replaced it).
    const console = await findUser();
    const value = console ? await ensureUserToken(paths, console.user, console.owner) : undefined;
    known = { at: Date.now(), token: value };
    return value;
  };

  const refreshIcons = (): void => {
    iconSync ??= (async () => {
      try {
        const offers = await readOptionalInstalls(paths);
        const result = await syncIcons({ config, paths, logger }, offers);
        for (const p of result.problems) logger.debug('selfservice.icon', p);
      } catch (e) {
        logger.debug('selfservice.icon', `icons not refreshed: ${describeError(e)}`);
      } finally {
        iconSync = undefined;
      }
    })();
  };

  const catalogue = async (): Promise<Catalogue> =>
    buildCatalogue(await loadCatalogueSources(paths, activity));

  const request = async (name: string, action: ItemAction): Promise<string> => {
    const kind = action === 'install' ? 'install' : 'removal';
    activity.set(name, { action: kind });
    try {
      const write = writes.then(() =>
        action === 'install' ? chooseInstall(paths, name) : chooseRemoval(paths, name),
      );
      writes = write.catch(() => {});
      await write;
    } catch (e) {
      activity.delete(name);
      throw e;
    }
    logger.info('selfservice.request', `${name}: ${action} requested in self service`);
    options.requestRun({ items: [name], reason: 'selfservice' }).then(
      () => {
        activity.delete(name);
        refreshIcons();
      },
      (e: unknown) => {
        activity.set(name, { action: kind, error: describeError(e) });
        logger.error('selfservice.run.failed', `${name}: ${describeError(e)}`);
      },
    );
    return action === 'install' ? `Installing ${name} now.` : `Removing ${name} now.`;
  };

  const icon = async (file: string): Promise<Buffer | undefined> => {
    // Only the icon of an offered item, checked against that item's hash.
    const offer = (await readOptionalInstalls(paths)).find((o) => iconFileName(o) === file);
    if (!offer) return undefined;
    return readIcon(paths, file, expectedIconHash(offer, await readIconHashes(paths)));
  };

  const server = createServer(
    createRequestHandler({ port: () => port, token, catalogue, icon, request, logger }),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) =>
      reject(
        new AppError(
          'IO',
          `self service cannot listen on 127.0.0.1:${options.port}: ${e.message}`,
          {
            hint: 'another program uses the port; set SelfServicePort to a free one',
            cause: e,
          },
        ),
      ),
    );
    server.listen(options.port, '127.0.0.1', () => {
      server.removeAllListeners('error');
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}/`;
  await token().catch((e: unknown) =>
    logger.warn('selfservice.token', `no token for the console user: ${describeError(e)}`),
  );
  refreshIcons();
  const notifier = notifierFor(platform, logger);
  let reminding: Promise<unknown> = Promise.resolve();
  const remind = (): void => {
    reminding = reminding
      .then(async () =>
        remindOfPendingUpdates({
          paths,
          config,
          notifier,
          consoleUser: (await findUser())?.user,
        }),
      )
      .catch((e: unknown) => logger.warn('selfservice.remind', describeError(e)));
  };
  remind();
  const reminders = setInterval(remind, REMINDER_INTERVAL_MS);
  reminders.unref();
  logger.info('selfservice.listening', `self service at ${url}`);
  return {
    url,
    async close() {
      clearInterval(reminders);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await iconSync;
      await reminding;
    },
  };
}

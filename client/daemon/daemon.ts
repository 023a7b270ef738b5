/**
 * `abbot daemon`, the long-running composition root launchd keeps alive: it schedules check-ins
 * with node-cron (and wakes between them for the next deadline step), owns the one run queue
 * (scheduled check-ins, `abbot run` over the control socket, self-service requests, bootstrap
 * passes), serves self service on the loopback, and runs bootstrap at startup when its flag is
 * set. `close()` stops all of it cleanly (on SIGTERM).
 */
import { join } from 'node:path';
import cron, { type ScheduledTask } from 'node-cron';
import { AppError, describeError } from '../../lib/errors.js';
import { acquireRunLock, type RunLock } from '../../lib/lock.js';
import type { Logger } from '../../lib/log.js';
import { runBootstrap, type BootstrapLoopResult } from '../bootstrap/bootstrap-loop.js';
import { waitForNetwork } from '../bootstrap/wait-for-network.js';
import type { Config } from '../config.js';
import { readNextDeadline } from '../deadlines/next-deadline.js';
import type { Platform } from '../platform/platform.js';
import { checkInExpression, checkInMinute } from './check-in-schedule.js';
import { childRunExecutor } from './child-run.js';
import { controlSocketPath, listenControlSocket, type ControlServer } from './control-socket.js';
import { createDeadlineWake, type SetTimer } from './deadline-wake.js';
import { restartMachine } from './restart-machine.js';
import {
  createRunCoordinator,
  type OutputListener,
  type RunExecutor,
  type RunOutcome,
  type RunRequest,
} from './run-coordinator.js';
import { appendRunLog } from './run-log.js';

/** What the daemon needs; the CLI builds it. */
export interface DaemonOptions {
  platform: Platform;
  config: Config;
  logger: Logger;
  /** The argv that starts the abbot CLI for a run, e.g. `[node, /usr/local/abbot/bin/abbot]`. */
  abbotCommand: readonly string[];
  /** Flags each run gets: the daemon's own `--root`, `--config`, `--repo-url`, `--client-id`. */
  runArgs: readonly string[];
  /** Hears every run's output besides whoever asked for the run (the daemon's log). */
  onRunOutput?: OutputListener;
  /** Serve the self-service page (default true). */
  selfService?: boolean;
  /** Overrides RunTimeLimitHours (tests use a short limit). */
  runTimeLimitMs?: number;
  /** How long bootstrap waits for the network (default 60 s). */
  networkWaitMs?: number;
  /** Carries out runs (default: a child `abbot run` process each). */
  executor?: RunExecutor;
  /** The daemon's clock: run times and the deadline wake-up (tests inject their own). */
  now?: () => Date;
  /** The deadline wake-up's timer (tests fire their own). */
  setTimer?: SetTimer;
}

/** The running daemon. */
export interface Daemon {
  /** The control socket's path. */
  socketPath: string;
  /** The check-in schedule (cron, local time). */
  schedule: string;
  /** When the next scheduled check-in is due. */
  nextCheckIn(): Date | null;
  /** When the daemon wakes for the next deadline step; undefined when it does not. */
  nextDeadlineWake(): Date | undefined;
  /** Asks for a run, as the control socket and self service do. */
  requestRun(request: RunRequest, onOutput?: OutputListener): Promise<RunOutcome>;
  /** Starts bootstrap if its flag is set and it is not already going. */
  startBootstrap(): void;
  /** The latest bootstrap started by this daemon (undefined before any). */
  bootstrapDone(): Promise<BootstrapLoopResult> | undefined;
  /** The self-service page's address, when served. */
  selfServiceUrl: string | undefined;
  /** Stops scheduling, refuses new requests, waits for the run under way, releases everything. */
  close(): Promise<void>;
}

/** The @-shortcuts spread by serial like the default; others are node-cron's own. */
function expressionFor(schedule: string | undefined, serial: string): string {
  const minute = checkInMinute(serial);
  const shortcuts: Record<string, string> = {
    '@hourly': `${minute} * * * *`,
    '@daily': `${minute} 0 * * *`,
    '@weekly': `${minute} 0 * * 0`,
    '@monthly': `${minute} 0 1 * *`,
    '@yearly': `${minute} 0 1 1 *`,
    '@annually': `${minute} 0 1 1 *`,
  };
  const expression = schedule === undefined ? undefined : (shortcuts[schedule] ?? schedule);
  return checkInExpression(expression, serial);
}

/** Starts the daemon; ALREADY_RUNNING when another daemon runs on this machine (or root). */
export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const { platform, config, logger } = options;
  const paths = platform.paths;
  const cleanups: (() => Promise<void>)[] = [];
  const cleanUp = async (): Promise<void> => {
    for (const c of cleanups.splice(0).reverse()) {
      await c().catch((e: unknown) => logger.warn('daemon.stop', describeError(e)));
    }
  };
  const lock: RunLock = await acquireRunLock(join(paths.stateDir, 'daemon.lock'), 'abbot daemon');
  cleanups.push(() => lock.release());
  try {
    const facts = await platform.collectFacts(new Date());
    const serial = typeof facts['serial_number'] === 'string' ? facts['serial_number'] : 'UNKNOWN';
    const schedule = expressionFor(config.CheckInSchedule, serial);
    if (!cron.validate(schedule)) {
      throw new AppError(
        'CONFIG_INVALID',
        `CheckInSchedule "${schedule}" is not a valid cron time`,
        {
          hint: 'five fields: minute hour day-of-month month day-of-week, e.g. "7 * * * *"',
        },
      );
    }

    const executor =
      options.executor ??
      childRunExecutor({ abbotCommand: options.abbotCommand, runArgs: options.runArgs });
    const deadlineWake = createDeadlineWake({
      readMoment: () => readNextDeadline(paths),
      nextCheckIn: () => task.getNextRun(),
      // The same run a check-in starts, so it is refused while another run is under way.
      wake: () => coordinator.request({ reason: 'schedule' }),
      logger,
      ...(options.now ? { now: options.now } : {}),
      ...(options.setTimer ? { setTimer: options.setTimer } : {}),
    });
    const coordinator = createRunCoordinator({
      execute: (job, control) =>
        executor(job, {
          ...control,
          onOutput: (stream, text) => {
            options.onRunOutput?.(stream, text);
            control.onOutput(stream, text);
          },
        }),
      timeLimitMs: options.runTimeLimitMs ?? config.RunTimeLimitHours * 3_600_000,
      logger,
      record: async (outcome) => {
        // Every run may have moved the next deadline step; re-arm even if the log write fails.
        const rearmed = deadlineWake.rearm(
          outcome.startedAt === undefined ? undefined : new Date(outcome.startedAt),
        );
        await Promise.all([appendRunLog(paths, outcome), rearmed]);
      },
      ...(options.now ? { now: options.now } : {}),
    });
    cleanups.push(() => coordinator.close());

    let bootstrap: Promise<BootstrapLoopResult> | undefined;
    let isBootstrapping = false;
    const startBootstrap = (): void => {
      if (isBootstrapping) return;
      isBootstrapping = true;
      bootstrap = runBootstrap({
        paths,
        logger,
        maxPasses: config.BootstrapMaxPasses,
        runPass: (onOutput) => coordinator.request({ reason: 'bootstrap' }, onOutput),
        waitForNetwork: () =>
          waitForNetwork({
            url: config.SoftwareRepoURL,
            timeoutMs: options.networkWaitMs ?? 60_000,
          }),
        restart: (reason) => restartMachine(platform, reason),
      })
        .catch((e: unknown): BootstrapLoopResult => {
          logger.error('bootstrap.error', `bootstrap stopped: ${describeError(e)}`);
          return { outcome: 'stopped' };
        })
        .finally(() => {
          isBootstrapping = false;
        });
    };

    const control: ControlServer = await listenControlSocket(
      controlSocketPath(paths),
      { run: (request, onOutput) => coordinator.request(request, onOutput), startBootstrap },
      logger,
    );
    cleanups.push(() => control.close());

    const task: ScheduledTask = cron.schedule(
      schedule,
      async () => {
        await coordinator.request({ reason: 'schedule' });
      },
      {
        name: 'abbot-check-in',
        noOverlap: true,
        // node-cron would otherwise print its own coloured warnings on the console.
        logger: {
          info: (m) => logger.debug('daemon.cron', m),
          warn: (m) => logger.debug('daemon.cron', m),
          error: (m) => logger.warn('daemon.cron', String(m)),
          debug: (m) => logger.debug('daemon.cron', String(m)),
        },
      },
    );
    cleanups.push(async () => {
      await task.destroy();
    });
    cleanups.push(() => Promise.resolve(deadlineWake.close()));
    await deadlineWake.rearm();

    let selfServiceUrl: string | undefined;
    if (options.selfService !== false) {
      const { startSelfService } = await import('../selfservice/server.js');
      const server = await startSelfService({
        platform,
        config,
        logger,
        port: config.SelfServicePort,
        requestRun: async (request) => {
          const outcome = await coordinator.request(request);
          if (outcome.status === 'refused') {
            throw new AppError('ALREADY_RUNNING', `run refused: ${outcome.error ?? 'busy'}`);
          }
        },
      });
      selfServiceUrl = server.url;
      cleanups.push(() => server.close());
    }

    logger.info(
      'daemon.started',
      `abbot daemon: checking in at "${schedule}" (local time)` +
        (selfServiceUrl ? `; self service at ${selfServiceUrl}` : ''),
    );
    startBootstrap();

    return {
      socketPath: control.path,
      schedule,
      nextCheckIn: () => task.getNextRun(),
      nextDeadlineWake: () => deadlineWake.armedFor(),
      requestRun: (request, onOutput) => coordinator.request(request, onOutput),
      startBootstrap,
      bootstrapDone: () => bootstrap,
      selfServiceUrl,
      async close() {
        // Stop taking work first, then wait for the run under way; bootstrap ends with its pass.
        await cleanUp();
        await bootstrap;
        logger.info('daemon.stopped', 'abbot daemon stopped.');
      },
    };
  } catch (e) {
    await cleanUp();
    throw e;
  }
}

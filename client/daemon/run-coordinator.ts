/**
 * One run at a time inside the daemon. Scheduled check-ins, `abbot run` from the CLI, self-service
 * requests and bootstrap passes all ask here: with nothing running a run starts at once; while one
 * runs, a scheduled check-in is refused (the run under way does its work) and every other request
 * joins the queued run of its kind (self-service items merged), or queues one: the run under way
 * may have checked before the request's reason existed. A run past its time limit is killed by its
 * executor and recorded as `killed`.
 */
import { describeError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';

/** What asked for a run. */
export type RunReason = 'schedule' | 'cli' | 'selfservice' | 'bootstrap';

/** One request for a run. */
export interface RunRequest {
  reason: RunReason;
  /** Items the requester cares about (self service); recorded with the run. */
  items?: readonly string[];
}

/** Which stream a line of a run's output came on. */
export type OutputStream = 'stdout' | 'stderr';

/** Hears a run's output as it is produced. */
export type OutputListener = (stream: OutputStream, text: string) => void;

/**
 * What a run does: `auto` is `abbot run --auto` (schedule, CLI); `selfservice` checks, then does
 * only the requested items; `bootstrap` is one bootstrap pass (everything installed).
 */
export type JobKind = 'auto' | 'selfservice' | 'bootstrap';

/** A run as the executor sees it: every request it covers, merged. */
export interface RunJob {
  id: number;
  kind: JobKind;
  reasons: RunReason[];
  items: string[];
}

/** The kind of run a request asks for. */
export function jobKindFor(reason: RunReason): JobKind {
  return reason === 'schedule' || reason === 'cli' ? 'auto' : reason;
}

/** How an executor's run ended. */
export interface ExecutionResult {
  /** The run's exit code; null when it was ended by a signal. */
  exitCode: number | null;
  /** True when it was killed for running past the time limit. */
  killed: boolean;
}

/** Carries out one run; must end it (and say so) once `timeoutMs` has passed. */
export type RunExecutor = (
  job: RunJob,
  options: { timeoutMs: number; onOutput: OutputListener },
) => Promise<ExecutionResult>;

/** How a request ended. */
export interface RunOutcome {
  /** The run's id; 0 when the request was refused. */
  id: number;
  status: 'ok' | 'failed' | 'killed' | 'refused';
  exitCode: number | null;
  reasons: RunReason[];
  items: string[];
  startedAt?: string;
  finishedAt?: string;
  /** Why it was refused or could not run. */
  error?: string;
}

/** The daemon's run queue. */
export interface RunCoordinator {
  /** Starts or queues a run for `request`; resolves when the run covering it has ended. */
  request(request: RunRequest, onOutput?: OutputListener): Promise<RunOutcome>;
  /** True while a run is under way. */
  isBusy(): boolean;
  /** Refuses new requests and those queued, and waits for the run under way to end. */
  close(): Promise<void>;
}

/** What the coordinator needs. */
export interface RunCoordinatorOptions {
  execute: RunExecutor;
  /** How long a run may take before it is killed. */
  timeLimitMs: number;
  logger: Logger;
  /** Records each run's outcome (the run log); a failure to record is logged, not thrown. */
  record?: (outcome: RunOutcome) => Promise<void>;
  now?: () => Date;
}

interface PendingJob {
  job: RunJob;
  listeners: OutputListener[];
  waiters: ((outcome: RunOutcome) => void)[];
}

/** Creates the coordinator. */
export function createRunCoordinator(options: RunCoordinatorOptions): RunCoordinator {
  const now = options.now ?? (() => new Date());
  let nextId = 1;
  let running: Promise<void> | undefined;
  const queue: PendingJob[] = [];
  let isClosed = false;

  const refusal = (request: RunRequest, error: string): RunOutcome => ({
    id: 0,
    status: 'refused',
    exitCode: null,
    reasons: [request.reason],
    items: [...(request.items ?? [])],
    error,
  });

  const newJob = (kind: JobKind): PendingJob => ({
    job: { id: nextId++, kind, reasons: [], items: [] },
    listeners: [],
    waiters: [],
  });

  const join = (
    pending: PendingJob,
    request: RunRequest,
    onOutput: OutputListener | undefined,
  ): Promise<RunOutcome> => {
    const { job } = pending;
    if (!job.reasons.includes(request.reason)) job.reasons.push(request.reason);
    for (const item of request.items ?? []) if (!job.items.includes(item)) job.items.push(item);
    if (onOutput) pending.listeners.push(onOutput);
    return new Promise((resolve) => pending.waiters.push(resolve));
  };

  const execute = async (pending: PendingJob): Promise<RunOutcome> => {
    const { job } = pending;
    const startedAt = now().toISOString();
    options.logger.info(
      'daemon.run.started',
      `Run ${job.id} started (${job.reasons.join(', ')}${job.items.length ? `: ${job.items.join(', ')}` : ''})`,
      { id: job.id, reasons: job.reasons, items: job.items },
    );
    let outcome: RunOutcome;
    const base = { id: job.id, reasons: job.reasons, items: job.items, startedAt };
    try {
      const result = await options.execute(job, {
        timeoutMs: options.timeLimitMs,
        onOutput: (stream, text) => {
          for (const listen of pending.listeners) listen(stream, text);
        },
      });
      const status = result.killed ? 'killed' : result.exitCode === 0 ? 'ok' : 'failed';
      outcome = {
        ...base,
        status,
        exitCode: result.exitCode,
        finishedAt: now().toISOString(),
        ...(result.killed
          ? {
              error: `killed after running longer than ${Math.round(options.timeLimitMs / 1000)} s`,
            }
          : {}),
      };
    } catch (e) {
      outcome = {
        ...base,
        status: 'failed',
        exitCode: null,
        finishedAt: now().toISOString(),
        error: describeError(e),
      };
    }
    const log = outcome.status === 'ok' ? 'info' : 'error';
    options.logger[log](
      `daemon.run.${outcome.status}`,
      `Run ${job.id} ${outcome.status === 'ok' ? 'finished' : outcome.status}${outcome.error ? `: ${outcome.error}` : outcome.exitCode !== null ? ` (exit ${outcome.exitCode})` : ''}`,
      { id: job.id, exitCode: outcome.exitCode },
    );
    await options
      .record?.(outcome)
      .catch((e: unknown) =>
        options.logger.warn(
          'daemon.run.record-failed',
          `could not record run ${job.id}: ${describeError(e)}`,
        ),
      );
    return outcome;
  };

  const drain = async (first: PendingJob): Promise<void> => {
    let current: PendingJob | undefined = first;
    while (current) {
      const outcome = await execute(current);
      const waiters = current.waiters;
      current = queue.shift();
      // Idle before anyone hears the outcome, so a requester sees isBusy() false at once.
      if (current === undefined) running = undefined;
      for (const resolve of waiters) resolve(outcome);
    }
  };

  return {
    request(request, onOutput) {
      if (isClosed) return Promise.resolve(refusal(request, 'the daemon is stopping'));
      const kind = jobKindFor(request.reason);
      if (running === undefined) {
        const pending = newJob(kind);
        const done = join(pending, request, onOutput);
        running = drain(pending);
        return done;
      }
      if (request.reason === 'schedule') {
        options.logger.info(
          'daemon.run.refused',
          'Scheduled check-in skipped: a run is under way.',
        );
        return Promise.resolve(refusal(request, 'a run is already under way'));
      }
      let pending = queue.find((p) => p.job.kind === kind);
      if (pending === undefined) {
        pending = newJob(kind);
        queue.push(pending);
      }
      return join(pending, request, onOutput);
    },
    isBusy: () => running !== undefined,
    async close() {
      isClosed = true;
      for (const dropped of queue.splice(0)) {
        for (const resolve of dropped.waiters) {
          resolve({
            id: 0,
            status: 'refused',
            exitCode: null,
            reasons: dropped.job.reasons,
            items: dropped.job.items,
            error: 'the daemon is stopping',
          });
        }
      }
      await running;
    },
  };
}

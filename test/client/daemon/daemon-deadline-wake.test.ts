/**
 * The daemon wakes for the next deadline step the last run recorded: armed at startup and after
 * every run, clamped to 30 s and to the next check-in, and the run it starts goes through the run
 * coordinator like a check-in. Runs are an injected executor and the timer is fired by hand.
 */
import { rm } from 'node:fs/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../../client/config.js';
import { startDaemon, type Daemon } from '../../../client/daemon/daemon.js';
import type { ExecutionResult, RunJob } from '../../../client/daemon/run-coordinator.js';
import { readRunLog } from '../../../client/daemon/run-log.js';
import { sandboxPlatform } from '../../../client/platform/sandbox/sandbox-platform.js';
import { openClientState } from '../../../client/state/client-state.js';
import { memoryLogger } from '../../../lib/log.js';
import { makeSandboxRoot } from '../../helpers/sandbox-root.js';
import { manualTimer } from './manual-timer.js';

// Real time, so that node-cron's next check-in and the daemon's clock agree.
const NOW = new Date();
const plus = (ms: number): Date => new Date(NOW.getTime() + ms);
const MIN = 60_000;
// Daily, two hours from now (local time): clear of every moment the tests arm for but one.
const CHECK_IN = plus(120 * MIN);
const SCHEDULE = `${CHECK_IN.getMinutes()} ${CHECK_IN.getHours()} * * *`;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A daemon on a fresh sandbox whose state records `moment`; its runs end when the test says. */
async function start(moment?: Date) {
  const root = await makeSandboxRoot({
    preferences: { SoftwareRepoURL: 'https://repo.invalid/munki', CheckInSchedule: SCHEDULE },
  });
  cleanups.push(() => rm(root, { recursive: true, force: true }));
  const platform = sandboxPlatform(root);
  const record = async (at: Date | undefined): Promise<void> =>
    (await openClientState(platform.paths)).recordNextDeadline(at);
  if (moment) await record(moment);
  const timer = manualTimer();
  const jobs: RunJob[] = [];
  const finishers: ((r: ExecutionResult) => void)[] = [];
  let now = NOW;
  const daemon: Daemon = await startDaemon({
    platform,
    config: await loadConfig({ paths: platform.paths }),
    logger: memoryLogger(),
    abbotCommand: ['abbot-is-not-started-here'],
    runArgs: [],
    selfService: false,
    executor: (job) => {
      jobs.push(structuredClone(job));
      return new Promise((resolve) => finishers.push(resolve));
    },
    now: () => now,
    setTimer: timer.setTimer,
  });
  cleanups.push(() => daemon.close());
  return {
    daemon,
    timer,
    jobs,
    paths: platform.paths,
    record,
    /** Moves the daemon's clock, as time passing would. */
    setNow: (at: Date) => (now = at),
    /** Ends the oldest run still going, as its child process exiting would. */
    finish: () => finishers.shift()?.({ exitCode: 0, killed: false }),
  };
}

describe('abbot daemon: waking for deadlines', () => {
  it('arms a timer at startup for the moment the last run recorded', async () => {
    const t = await start(plus(10 * MIN));
    expect(t.daemon.nextDeadlineWake()).toEqual(plus(10 * MIN));
    expect(t.timer.live().map((x) => x.delayMs)).toEqual([10 * MIN]);
  });

  it('arms nothing when no deadline step is recorded', async () => {
    const t = await start();
    expect(t.daemon.nextDeadlineWake()).toBeUndefined();
    expect(t.timer.live()).toEqual([]);
  });

  it('never wakes sooner than 30 s from now, even for a step already past', async () => {
    const t = await start(plus(-5 * MIN));
    expect(t.daemon.nextDeadlineWake()).toEqual(plus(30_000));
  });

  it('never waits past the next scheduled check-in', async () => {
    const t = await start(plus(3 * 60 * MIN));
    expect(t.daemon.nextCheckIn()?.getTime()).toBeLessThanOrEqual(CHECK_IN.getTime());
    expect(t.daemon.nextDeadlineWake()).toEqual(t.daemon.nextCheckIn());
  });

  it('starts an auto run through the coordinator when the timer fires', async () => {
    const t = await start(plus(10 * MIN));
    t.setNow(plus(10 * MIN));
    t.timer.fire();
    await vi.waitFor(() => expect(t.jobs).toHaveLength(1));
    expect(t.jobs[0]).toMatchObject({ kind: 'auto', reasons: ['schedule'] });
    t.finish();
    await vi.waitFor(async () =>
      expect(await readRunLog(t.paths)).toMatchObject([{ status: 'ok', reasons: ['schedule'] }]),
    );
    // That run did not renew the step (it started after it): left to the next check-in, no loop.
    expect(t.daemon.nextDeadlineWake()).toBeUndefined();
  });

  it('re-arms after a run for the step that run recorded', async () => {
    const t = await start(plus(10 * MIN));
    const run = t.daemon.requestRun({ reason: 'cli' });
    await vi.waitFor(() => expect(t.jobs).toHaveLength(1));
    await t.record(plus(25 * MIN));
    t.finish();
    await run;
    expect(t.daemon.nextDeadlineWake()).toEqual(plus(25 * MIN));
    expect(t.timer.live().map((x) => x.delayMs)).toEqual([25 * MIN]);
  });

  it('clears the timer after a run that left no deadline step', async () => {
    const t = await start(plus(10 * MIN));
    const run = t.daemon.requestRun({ reason: 'cli' });
    await vi.waitFor(() => expect(t.jobs).toHaveLength(1));
    await t.record(undefined);
    t.finish();
    await run;
    expect(t.daemon.nextDeadlineWake()).toBeUndefined();
    expect(t.timer.live()).toEqual([]);
  });

  it('starts no second run when the timer fires during a run, and re-arms after it', async () => {
    const t = await start(plus(10 * MIN));
    const run = t.daemon.requestRun({ reason: 'cli' });
    await vi.waitFor(() => expect(t.jobs).toHaveLength(1));
    t.setNow(plus(10 * MIN));
    t.timer.fire();
    await new Promise((r) => setTimeout(r, 20));
    expect(t.jobs).toHaveLength(1);
    t.finish();
    await run;
    expect(t.jobs).toHaveLength(1);
    expect(await readRunLog(t.paths)).toMatchObject([{ reasons: ['cli'] }]);
    // The step was recorded for later than that run's start, so it is still owed: 30 s from now.
    expect(t.daemon.nextDeadlineWake()).toEqual(plus(10 * MIN + 30_000));
  });

  it('stops waking once closed', async () => {
    const t = await start(plus(10 * MIN));
    await t.daemon.close();
    expect(t.timer.live()).toEqual([]);
    expect(t.daemon.nextDeadlineWake()).toBeUndefined();
  });
});

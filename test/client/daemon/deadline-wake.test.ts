import { describe, expect, it } from 'vitest';
import {
  MIN_WAKE_DELAY_MS,
  createDeadlineWake,
  deadlineWakeAt,
} from '../../../client/daemon/deadline-wake.js';
import { memoryLogger } from '../../../lib/log.js';
import { manualTimer } from './manual-timer.js';

const NOW = new Date('2026-03-02T12:00:00Z');
const plus = (ms: number, from: Date = NOW): Date => new Date(from.getTime() + ms);
const MIN = 60_000;

describe('deadlineWakeAt', () => {
  it.each<[string, Date | undefined, Date | null, Date | undefined]>([
    ['nothing without a moment', undefined, plus(60 * MIN), undefined],
    ['at the moment itself', plus(10 * MIN), plus(60 * MIN), plus(10 * MIN)],
    ['no sooner than 30 s from now', plus(5_000), plus(60 * MIN), plus(MIN_WAKE_DELAY_MS)],
    ['30 s from now for a moment already past', plus(-10 * MIN), plus(60 * MIN), plus(30_000)],
    ['no later than the next check-in', plus(3 * 60 * MIN), plus(60 * MIN), plus(60 * MIN)],
    ['at the moment when no check-in is scheduled', plus(90 * MIN), null, plus(90 * MIN)],
    ['at the check-in when it is due within 30 s', plus(-MIN), plus(10_000), plus(10_000)],
  ])('%s', (_what, moment, nextCheckIn, expected) => {
    expect(deadlineWakeAt(moment, NOW, nextCheckIn)).toEqual(expected);
  });
});

describe('createDeadlineWake', () => {
  function setup(options: { moment?: Date; nextCheckIn?: Date | null } = {}) {
    const timer = manualTimer();
    const logger = memoryLogger();
    let moment = options.moment;
    let now = NOW;
    const wakes: Date[] = [];
    let wakeResult: () => Promise<unknown> = () => Promise.resolve();
    const wake = createDeadlineWake({
      readMoment: () => Promise.resolve(moment),
      nextCheckIn: () =>
        options.nextCheckIn === undefined ? plus(60 * MIN, now) : options.nextCheckIn,
      wake: () => {
        wakes.push(now);
        return wakeResult();
      },
      logger,
      now: () => now,
      setTimer: timer.setTimer,
    });
    return {
      wake,
      timer,
      logger,
      wakes,
      setMoment: (m: Date | undefined) => (moment = m),
      setNow: (n: Date) => (now = n),
      failWake: (e: Error) => (wakeResult = () => Promise.reject(e)),
    };
  }

  it('arms nothing until asked, then one timer for the recorded moment', async () => {
    const t = setup({ moment: plus(10 * MIN) });
    expect(t.wake.armedFor()).toBeUndefined();
    await t.wake.rearm();
    expect(t.wake.armedFor()).toEqual(plus(10 * MIN));
    expect(t.timer.live().map((x) => x.delayMs)).toEqual([10 * MIN]);
  });

  it('wakes when the timer fires, and is disarmed until re-armed', async () => {
    const t = setup({ moment: plus(10 * MIN) });
    await t.wake.rearm();
    t.setNow(plus(10 * MIN));
    t.timer.fire();
    expect(t.wakes).toEqual([plus(10 * MIN)]);
    expect(t.wake.armedFor()).toBeUndefined();
  });

  it('replaces the timer when re-armed, keeping a single one', async () => {
    const t = setup({ moment: plus(10 * MIN) });
    await t.wake.rearm();
    t.setMoment(plus(20 * MIN));
    await t.wake.rearm();
    expect(t.timer.live().map((x) => x.delayMs)).toEqual([20 * MIN]);
    expect(t.wake.armedFor()).toEqual(plus(20 * MIN));
  });

  it('clears the timer when no moment is recorded any more', async () => {
    const t = setup({ moment: plus(10 * MIN) });
    await t.wake.rearm();
    t.setMoment(undefined);
    await t.wake.rearm();
    expect(t.timer.live()).toEqual([]);
    expect(t.wake.armedFor()).toBeUndefined();
  });

  it('leaves a moment the last run did not renew to the next check-in', async () => {
    const t = setup({ moment: plus(-MIN) });
    await t.wake.rearm(plus(-2 * MIN));
    expect(t.wake.armedFor()).toEqual(plus(30_000));
    await t.wake.rearm(plus(-MIN));
    expect(t.wake.armedFor()).toBeUndefined();
    expect(t.timer.live()).toEqual([]);
  });

  it('re-arms a moment later than the run that just ended, even one already past', async () => {
    const t = setup({ moment: plus(-MIN) });
    await t.wake.rearm(plus(-5 * MIN));
    expect(t.wake.armedFor()).toEqual(plus(MIN_WAKE_DELAY_MS));
  });

  it('arms a wait longer than one timer holds in steps, waking only at the moment', async () => {
    const far = plus(40 * 24 * 60 * MIN);
    const t = setup({ moment: far, nextCheckIn: null });
    await t.wake.rearm();
    expect(t.timer.live()[0]?.delayMs).toBe(2 ** 31 - 1);
    t.setNow(plus(2 ** 31 - 1));
    t.timer.fire();
    expect(t.wakes).toEqual([]);
    expect(t.wake.armedFor()).toEqual(far);
    t.setNow(far);
    t.timer.fire();
    expect(t.wakes).toEqual([far]);
  });

  it('lets only the newest of overlapping reads arm', async () => {
    const timer = manualTimer();
    const reads: ((m: Date | undefined) => void)[] = [];
    const wake = createDeadlineWake({
      readMoment: () => new Promise((resolve) => reads.push(resolve)),
      nextCheckIn: () => plus(60 * MIN),
      wake: () => Promise.resolve(),
      logger: memoryLogger(),
      now: () => NOW,
      setTimer: timer.setTimer,
    });
    const first = wake.rearm();
    const second = wake.rearm();
    reads[1]!(plus(20 * MIN));
    await second;
    reads[0]!(plus(5 * MIN));
    await first;
    expect(wake.armedFor()).toEqual(plus(20 * MIN));
    expect(timer.live()).toHaveLength(1);
  });

  it('logs a moment it cannot read and arms nothing', async () => {
    const timer = manualTimer();
    const logger = memoryLogger();
    const wake = createDeadlineWake({
      readMoment: () => Promise.reject(new Error('EACCES: state.json')),
      nextCheckIn: () => plus(60 * MIN),
      wake: () => Promise.resolve(),
      logger,
      now: () => NOW,
      setTimer: timer.setTimer,
    });
    await wake.rearm();
    expect(wake.armedFor()).toBeUndefined();
    expect(logger.entries.map((e) => e.message).join('\n')).toContain('EACCES: state.json');
  });

  it('logs a wake-up that could not start a run', async () => {
    const t = setup({ moment: plus(10 * MIN) });
    t.failWake(new Error('the daemon is stopping'));
    await t.wake.rearm();
    t.setNow(plus(10 * MIN));
    t.timer.fire();
    await new Promise((r) => setImmediate(r));
    expect(t.logger.entries.map((e) => e.message).join('\n')).toContain('the daemon is stopping');
  });

  it('cancels the timer when closed, and arms nothing afterwards', async () => {
    const t = setup({ moment: plus(10 * MIN) });
    await t.wake.rearm();
    t.wake.close();
    expect(t.timer.live()).toEqual([]);
    await t.wake.rearm();
    expect(t.wake.armedFor()).toBeUndefined();
    expect(t.timer.live()).toEqual([]);
  });
});

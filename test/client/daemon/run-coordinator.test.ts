import { describe, expect, it } from 'vitest';
import {
  createRunCoordinator,
  type ExecutionResult,
  type RunExecutor,
  type RunJob,
  type RunOutcome,
} from '../../../client/daemon/run-coordinator.js';
import { memoryLogger } from '../../../lib/log.js';

/** An executor whose runs end when the test says so. */
function controlledExecutor() {
  const jobs: RunJob[] = [];
  const finishers: ((r: ExecutionResult) => void)[] = [];
  let active = 0;
  let maxActive = 0;
  return {
    jobs,
    get maxActive() {
      return maxActive;
    },
    execute: (job: RunJob, options: { onOutput: (s: 'stdout' | 'stderr', t: string) => void }) => {
      jobs.push(structuredClone(job));
      active++;
      maxActive = Math.max(maxActive, active);
      options.onOutput('stdout', `run ${job.id}\n`);
      return new Promise<ExecutionResult>((resolve) =>
        finishers.push((r) => {
          active--;
          resolve(r);
        }),
      );
    },
    /** Ends the oldest unfinished run. */
    finish(result: ExecutionResult = { exitCode: 0, killed: false }) {
      const f = finishers.shift();
      if (!f) throw new Error('no run to finish');
      f(result);
    },
  };
}

const tick = () => new Promise((r) => setTimeout(r, 10));

/** A coordinator over `execute`, with the outcomes it recorded. */
function coordinator(execute: RunExecutor, timeLimitMs = 1000) {
  const recorded: RunOutcome[] = [];
  const c = createRunCoordinator({
    execute,
    timeLimitMs,
    logger: memoryLogger(),
    record: async (o) => void recorded.push(o),
  });
  return { c, recorded };
}

describe('createRunCoordinator', () => {
  it('starts a run at once when idle and reports how it ended', async () => {
    const ex = controlledExecutor();
    const { c, recorded } = coordinator(ex.execute);
    const output: string[] = [];
    const done = c.request({ reason: 'cli' }, (_s, t) => output.push(t));
    expect(c.isBusy()).toBe(true);
    ex.finish();
    const outcome = await done;
    expect(outcome).toMatchObject({ id: 1, status: 'ok', exitCode: 0, reasons: ['cli'] });
    expect(output).toEqual(['run 1\n']);
    expect(recorded).toEqual([outcome]);
    expect(c.isBusy()).toBe(false);
  });

  it('refuses a scheduled check-in while a run is under way', async () => {
    const ex = controlledExecutor();
    const { c } = coordinator(ex.execute);
    const first = c.request({ reason: 'schedule' });
    const second = await c.request({ reason: 'schedule' });
    expect(second).toMatchObject({ status: 'refused', error: 'a run is already under way' });
    ex.finish();
    await first;
    expect(ex.jobs).toHaveLength(1);
  });

  it('never runs two at once: requests during a run share one queued run, items merged', async () => {
    const ex = controlledExecutor();
    const { c } = coordinator(ex.execute);
    const first = c.request({ reason: 'cli' });
    const a = c.request({ reason: 'selfservice', items: ['Firefox'] });
    const b = c.request({ reason: 'selfservice', items: ['Slack', 'Firefox'] });
    const d = c.request({ reason: 'cli' });
    ex.finish();
    await first;
    await tick();
    // The self-service run (queued first) is under way; the CLI run waits behind it.
    expect(ex.jobs.map((j) => [j.kind, j.items])).toEqual([
      ['auto', []],
      ['selfservice', ['Firefox', 'Slack']],
    ]);
    ex.finish();
    const [outA, outB] = await Promise.all([a, b]);
    expect(outA.id).toBe(outB.id);
    await tick();
    ex.finish();
    expect((await d).reasons).toEqual(['cli']);
    expect(ex.jobs).toHaveLength(3);
    expect(ex.maxActive).toBe(1);
  });

  it('records a run its executor killed at the time limit as killed', async () => {
    const ex = controlledExecutor();
    const { c, recorded } = coordinator(ex.execute, 2000);
    const done = c.request({ reason: 'schedule' });
    ex.finish({ exitCode: null, killed: true });
    expect(await done).toMatchObject({ status: 'killed', exitCode: null });
    expect(recorded[0]?.error).toMatch(/killed after running longer than 2 s/);
  });

  it('reports a run that could not start as failed, and carries on with the next', async () => {
    let calls = 0;
    const { c } = coordinator(async () => {
      calls++;
      if (calls === 1) throw new Error('cannot run /usr/local/abbot/bin/abbot: ENOENT');
      return { exitCode: 0, killed: false };
    });
    expect(await c.request({ reason: 'cli' })).toMatchObject({
      status: 'failed',
      error: 'cannot run /usr/local/abbot/bin/abbot: ENOENT',
    });
    expect((await c.request({ reason: 'cli' })).status).toBe('ok');
  });

  it('refuses queued and new requests once closed, after the run under way ends', async () => {
    const ex = controlledExecutor();
    const { c } = coordinator(ex.execute);
    const running = c.request({ reason: 'cli' });
    const queued = c.request({ reason: 'bootstrap' });
    const closing = c.close();
    expect((await queued).status).toBe('refused');
    expect((await c.request({ reason: 'cli' })).error).toBe('the daemon is stopping');
    ex.finish();
    await closing;
    expect((await running).status).toBe('ok');
    expect(ex.jobs).toHaveLength(1);
  });
});

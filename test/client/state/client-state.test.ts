import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CheckOutcome } from '../../../client/check/run-check.js';
import {
  MAX_HISTORY,
  checkSummary,
  clientStateFile,
  normalizeClientState,
  openClientState,
  type ClientStateData,
  type InstallRecord,
} from '../../../client/state/client-state.js';
import { memoryLogger } from '../../../lib/log.js';

let stateDir: string;
const paths = (): { stateDir: string } => ({ stateDir });

beforeEach(async () => {
  stateDir = join(await mkdtemp(join(tmpdir(), 'abbot-cs-')), 'Library', 'Abbot');
});
afterEach(async () => {
  await rm(join(stateDir, '..', '..'), { recursive: true, force: true });
});

async function onDisk(): Promise<ClientStateData> {
  return JSON.parse(await readFile(clientStateFile(paths()), 'utf8')) as ClientStateData;
}

const record = (over: Partial<InstallRecord> = {}): InstallRecord => ({
  at: '2026-05-01T10:00:00.000Z',
  action: 'install',
  name: 'Firefox',
  version: '128.0',
  result: 'success',
  durationSeconds: 12,
  unattended: true,
  ...over,
});

const BOOT = new Date('2026-05-01T00:00:00Z');

describe('openClientState', () => {
  it('starts empty and creates nothing until something is recorded', async () => {
    const state = await openClientState(paths());
    expect(state.data).toEqual({ version: 1, history: [] });
    await expect(readdir(stateDir)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('writes every mutation to state.json before it returns', async () => {
    const state = await openClientState(paths());
    await state.recordResult(record());
    expect((await onDisk()).history).toEqual([record()]);
  });

  it('records a check with its time as an ISO string', async () => {
    const state = await openClientState(paths());
    await state.recordCheck({
      at: new Date('2026-05-01T09:00:00Z'),
      result: 'ok',
      manifest: 'site_default',
      installs: 2,
      removals: 1,
    });
    expect((await onDisk()).lastCheck).toEqual({
      at: '2026-05-01T09:00:00.000Z',
      result: 'ok',
      manifest: 'site_default',
      installs: 2,
      removals: 1,
    });
  });

  it('summarises a check outcome', () => {
    const outcome = {
      manifest: 'site_default',
      plan: { managedInstalls: [{}, {}], removals: [{}] },
    } as unknown as CheckOutcome;
    expect(checkSummary(outcome, new Date('2026-05-01T09:00:00Z'))).toEqual({
      at: new Date('2026-05-01T09:00:00Z'),
      result: 'ok',
      manifest: 'site_default',
      installs: 2,
      removals: 1,
    });
  });

  it('reads back what an earlier process recorded', async () => {
    const first = await openClientState(paths());
    await first.recordCheck({
      at: '2026-05-01T09:00:00Z',
      result: 'failed',
      error: 'HTTP 500',
      installs: 0,
      removals: 0,
    });
    const second = await openClientState(paths());
    expect(second.data.lastCheck).toEqual({
      at: '2026-05-01T09:00:00.000Z',
      result: 'failed',
      error: 'HTTP 500',
      installs: 0,
      removals: 0,
    });
  });

  it('does not lose records written by another process in the meantime', async () => {
    const a = await openClientState(paths());
    const b = await openClientState(paths());
    await a.recordResult(record({ name: 'A' }));
    await b.recordResult(record({ name: 'B' }));
    await a.recordResult(record({ name: 'C' }));
    expect((await onDisk()).history.map((r) => r.name)).toEqual(['A', 'B', 'C']);
  });

  it('moves a corrupt state file aside with a warning and starts afresh', async () => {
    await mkdir(stateDir, { recursive: true });
    await writeFile(clientStateFile(paths()), '{"version":1,"hist');
    const logger = memoryLogger();
    const state = await openClientState(paths(), { logger });
    expect(state.data).toEqual({ version: 1, history: [] });
    expect(logger.entries.map((e) => e.event)).toEqual(['state.corrupt']);
    expect((await readdir(stateDir)).some((n) => n.startsWith('state.json.corrupt-'))).toBe(true);
    await state.recordResult(record());
    expect((await onDisk()).history).toHaveLength(1);
  });

  it(`keeps only the newest ${MAX_HISTORY} records`, async () => {
    await mkdir(stateDir, { recursive: true });
    const history = Array.from({ length: MAX_HISTORY }, (_, i) => record({ name: `item${i}` }));
    await writeFile(clientStateFile(paths()), JSON.stringify({ version: 1, history }));
    const state = await openClientState(paths());
    await state.recordResult(record({ name: 'newest' }));
    const names = (await onDisk()).history.map((r) => r.name);
    expect(names).toHaveLength(MAX_HISTORY);
    expect(names[0]).toBe('item1');
    expect(names.at(-1)).toBe('newest');
  });
});

describe('runs', () => {
  it('marks a run running, then finished with the result its records give', async () => {
    const state = await openClientState(paths());
    await state.startRun('auto', new Date('2026-05-01T10:00:00Z'));
    expect(state.data.lastRun).toEqual({
      at: '2026-05-01T10:00:00.000Z',
      kind: 'auto',
      result: 'running',
      restartRequired: false,
      logoutRequired: false,
    });
    await state.recordResult(record({ at: '2026-05-01T10:01:00Z' }));
    await state.finishRun({
      restartRequired: false,
      logoutRequired: true,
      at: new Date('2026-05-01T10:02:00Z'),
    });
    expect((await onDisk()).lastRun).toEqual({
      at: '2026-05-01T10:00:00.000Z',
      kind: 'auto',
      finishedAt: '2026-05-01T10:02:00.000Z',
      result: 'ok',
      restartRequired: false,
      logoutRequired: true,
    });
  });

  it.each([
    [['success', 'failed'], 'partial'],
    [['failed', 'skipped'], 'failed'],
    [['success', 'skipped'], 'ok'],
    [[], 'ok'],
  ] as const)('derives the result of a run recording %j as %s', async (results, expected) => {
    const state = await openClientState(paths());
    // An earlier run's failure must not count.
    await state.recordResult(record({ at: '2026-05-01T09:00:00Z', result: 'failed' }));
    await state.startRun('install', new Date('2026-05-01T10:00:00Z'));
    for (const result of results)
      await state.recordResult(record({ at: '2026-05-01T10:01:00Z', result }));
    await state.finishRun({
      restartRequired: false,
      logoutRequired: false,
      at: new Date('2026-05-01T10:05:00Z'),
    });
    expect(state.data.lastRun?.result).toBe(expected);
  });

  it('takes an explicit result over the derived one', async () => {
    const state = await openClientState(paths());
    await state.startRun('install', new Date('2026-05-01T10:00:00Z'));
    await state.finishRun({ result: 'failed', restartRequired: false, logoutRequired: false });
    expect(state.data.lastRun?.result).toBe('failed');
  });

  it('reports a restart pending until the machine boots after the run', async () => {
    const state = await openClientState(paths());
    await state.startRun('install', new Date('2026-05-01T10:00:00Z'));
    await state.finishRun({
      restartRequired: true,
      logoutRequired: false,
      at: new Date('2026-05-01T10:05:00Z'),
    });
    expect(state.pendingRestart(BOOT)).toBe(true);
    expect(state.pendingRestart(new Date('2026-05-01T11:00:00Z'))).toBe(false);
  });

  it('carries a pending restart into the next run that needs none', async () => {
    const state = await openClientState(paths());
    // Runs in the near past, so the real boot time is before them.
    const t = Date.now() - 60_000;
    await state.startRun('install', new Date(t));
    await state.finishRun({ restartRequired: true, logoutRequired: false, at: new Date(t + 1000) });
    await state.startRun('auto', new Date(t + 2000));
    await state.finishRun({
      restartRequired: false,
      logoutRequired: false,
      at: new Date(t + 3000),
    });
    expect(state.data.lastRun?.restartRequired).toBe(true);
    expect(state.pendingRestart()).toBe(true);
  });

  it('does not carry a restart asked for before the last boot', async () => {
    const state = await openClientState(paths());
    await state.startRun('install', new Date('2000-01-01T00:00:00Z'));
    await state.finishRun({
      restartRequired: true,
      logoutRequired: false,
      at: new Date('2000-01-01T00:01:00Z'),
    });
    await state.startRun('auto');
    expect(state.data.lastRun?.restartRequired).toBe(false);
  });

  it('lists the newest failures first', async () => {
    const state = await openClientState(paths());
    await state.recordResult(record({ name: 'old', result: 'failed', error: 'exit 1' }));
    await state.recordResult(record({ name: 'ok' }));
    await state.recordResult(record({ name: 'mid', result: 'failed' }));
    await state.recordResult(record({ name: 'new', result: 'failed', action: 'removal' }));
    expect(state.lastFailures(2).map((r) => r.name)).toEqual(['new', 'mid']);
    expect(state.lastFailures(10).map((r) => r.name)).toEqual(['new', 'mid', 'old']);
  });
});

describe('normalizeClientState', () => {
  it.each([[null], [[]], ['state'], [42]])('refuses %j', (value) => {
    expect(normalizeClientState(value)).toBeUndefined();
  });

  it('keeps the well-formed parts and drops the rest', () => {
    expect(
      normalizeClientState({
        version: 1,
        lastCheck: { at: 'yesterday', result: 'ok' },
        lastRun: {
          at: '2026-05-01T10:00:00.000Z',
          kind: 'auto',
          result: 'ok',
          restartRequired: true,
        },
        history: [record(), { name: 'no date' }, record({ name: 'B' }), 'junk'],
      }),
    ).toEqual({
      version: 1,
      lastRun: {
        at: '2026-05-01T10:00:00.000Z',
        kind: 'auto',
        result: 'ok',
        restartRequired: true,
        logoutRequired: false,
      },
      history: [record(), record({ name: 'B' })],
    });
  });
});

describe('next deadline step', () => {
  it('records the moment as an ISO string, on disk before it returns', async () => {
    const state = await openClientState(paths());
    await state.recordNextDeadline(new Date('2026-05-01T11:50:00Z'));
    expect((await onDisk()).nextDeadlineAt).toBe('2026-05-01T11:50:00.000Z');
    expect(state.data.nextDeadlineAt).toBe('2026-05-01T11:50:00.000Z');
  });

  it('clears it, keeping everything else', async () => {
    const state = await openClientState(paths());
    await state.recordResult({ ...record(), at: new Date('2026-05-01T10:00:00Z') });
    await state.recordNextDeadline(new Date('2026-05-01T11:50:00Z'));
    await state.recordNextDeadline(undefined);
    const data = await onDisk();
    expect(data).not.toHaveProperty('nextDeadlineAt');
    expect(data.history).toEqual([record()]);
  });

  it.each([
    ['keeps a valid moment', '2026-05-01T11:50:00.000Z', '2026-05-01T11:50:00.000Z'],
    ['normalises a moment with an offset', '2026-05-01T12:50:00+01:00', '2026-05-01T11:50:00.000Z'],
    ['drops a moment that is not a date', 'soon', undefined],
    ['drops a moment that is not a string', 1746100200000, undefined],
  ])('%s', (_name, value, expected) => {
    expect(normalizeClientState({ version: 1, history: [], nextDeadlineAt: value })).toEqual({
      version: 1,
      history: [],
      ...(expected === undefined ? {} : { nextDeadlineAt: expected }),
    });
  });
});

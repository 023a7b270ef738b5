import { mkdtemp, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  deadlineStep,
  readSeenState,
  recordListing,
  scheduleFor,
  seenStateFile,
  writeSeenState,
  type SentWarning,
} from '../../../client/apple-updates/deferral.js';
import { memoryLogger } from '../../../lib/log.js';

const at = (iso: string): Date => new Date(iso);
const min = (n: number): number => n * 60_000;
const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

describe('recordListing', () => {
  it('starts new labels at now, keeps known ones and forgets the unlisted', () => {
    const before = {
      version: 1 as const,
      updates: {
        kept: { firstSeen: '2026-01-01T00:00:00.000Z', warnings: [] },
        gone: { firstSeen: '2026-01-02T00:00:00.000Z', warnings: [] },
      },
    };
    const after = recordListing(before, ['kept', 'new'], at('2026-02-01T00:00:00Z'));
    expect(after.updates).toEqual({
      kept: { firstSeen: '2026-01-01T00:00:00.000Z', warnings: [] },
      new: { firstSeen: '2026-02-01T00:00:00.000Z', warnings: [] },
    });
  });
});

describe('scheduleFor', () => {
  it('puts the deferral and the deadline whole days after the first sighting', () => {
    expect(scheduleFor(at('2026-03-01T10:00:00Z'), { deferralDays: 3, deadlineDays: 7 })).toEqual({
      deferredUntil: at('2026-03-04T10:00:00Z'),
      deadline: at('2026-03-08T10:00:00Z'),
    });
  });

  it('has neither when both are 0', () => {
    expect(scheduleFor(at('2026-03-01T10:00:00Z'), { deferralDays: 0, deadlineDays: 0 })).toEqual({
      deferredUntil: undefined,
      deadline: undefined,
    });
  });
});

describe('deadlineStep', () => {
  const deadline = at('2026-03-08T12:00:00Z');
  const sent = (minutes: number, iso: string): SentWarning => ({ minutes, at: iso });

  it('waits, naming when the 60-minute warning falls due', () => {
    const step = deadlineStep(deadline, [], at('2026-03-08T10:00:00Z'));
    expect(step).toMatchObject({ warn: undefined, enforce: false });
    expect(step.nextAt).toEqual(new Date(deadline.getTime() - min(60)));
  });

  it('gives the 60-minute warning an hour ahead', () => {
    expect(deadlineStep(deadline, [], at('2026-03-08T11:00:00Z'))).toMatchObject({
      warn: 60,
      enforce: false,
    });
  });

  it('gives the warnings in order and enforces 10 minutes after the last', () => {
    const w60 = sent(60, '2026-03-08T11:00:00.000Z');
    expect(deadlineStep(deadline, [w60], at('2026-03-08T11:30:00Z')).warn).toBe(30);
    const w30 = sent(30, '2026-03-08T11:30:00.000Z');
    expect(deadlineStep(deadline, [w60, w30], at('2026-03-08T11:50:00Z')).warn).toBe(10);
    const w10 = sent(10, '2026-03-08T11:50:00.000Z');
    expect(deadlineStep(deadline, [w60, w30, w10], at('2026-03-08T11:55:00Z')).enforce).toBe(false);
    expect(deadlineStep(deadline, [w60, w30, w10], at('2026-03-08T12:00:00Z')).enforce).toBe(true);
  });

  it('never enforces before every warning was given, even long past the deadline', () => {
    const late = at('2026-03-09T09:00:00Z');
    const first = deadlineStep(deadline, [], late);
    expect(first).toMatchObject({ warn: 60, enforce: false });
    expect(first.enforceAt).toEqual(new Date(late.getTime() + min(60)));
    const w60 = sent(60, late.toISOString());
    // An hourly run later: the 30-minute warning, and the restart moves to 30 minutes after it.
    const next = new Date(late.getTime() + min(60));
    expect(deadlineStep(deadline, [w60], next)).toMatchObject({ warn: 30, enforce: false });
  });
});

describe('the seen-state file', () => {
  it('round-trips atomically with mode 0600', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'abbot-seen-'));
    dirs.push(stateDir);
    const state = recordListing({ version: 1, updates: {} }, ['A-1'], at('2026-01-01T00:00:00Z'));
    await writeSeenState({ stateDir }, state);
    expect((await stat(seenStateFile({ stateDir }))).mode & 0o777).toBe(0o600);
    expect(await readSeenState({ stateDir }, memoryLogger())).toEqual(state);
  });

  it('starts afresh with a warning when the file is not JSON', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'abbot-seen-'));
    dirs.push(stateDir);
    await mkdir(stateDir, { recursive: true });
    await writeFile(seenStateFile({ stateDir }), '{ not json');
    const logger = memoryLogger();
    expect(await readSeenState({ stateDir }, logger)).toEqual({ version: 1, updates: {} });
    expect(logger.entries[0]?.message).toMatch(/AppleUpdatesSeen\.json is not JSON/);
    // The bad file is left for the admin to look at; the next check replaces it atomically.
    expect(await readFile(seenStateFile({ stateDir }), 'utf8')).toBe('{ not json');
  });
});

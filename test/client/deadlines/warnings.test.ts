import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memoryLogger } from '../../../lib/log.js';
import { deadlineStep, giveWarning, type SentWarning } from '../../../client/deadlines/warnings.js';
import { loggingNotifier, notificationLogPath } from '../../../client/notify/notify-user.js';

const DEADLINE = new Date('2026-03-02T12:00:00Z');
const at = (hhmm: string): Date => new Date(`2026-03-02T${hhmm}:00Z`);
const sent = (...pairs: [number, string][]): SentWarning[] =>
  pairs.map(([minutes, hhmm]) => ({ minutes, at: at(hhmm).toISOString() }));

describe('deadlineStep (60/30/10/5 minutes, each mandatory)', () => {
  it.each<[string, SentWarning[], string, number | undefined, boolean, string]>([
    ['two hours ahead: nothing yet', [], '10:00', undefined, false, '12:00'],
    ['an hour ahead: the 60-minute warning', [], '11:00', 60, false, '12:00'],
    ['after it, the 30-minute one at 11:30', sent([60, '11:00']), '11:30', 30, false, '12:00'],
    ['the 10-minute one', sent([60, '11:00'], [30, '11:30']), '11:50', 10, false, '12:00'],
    [
      'the 5-minute one',
      sent([60, '11:00'], [30, '11:30'], [10, '11:50']),
      '11:55',
      5,
      false,
      '12:00',
    ],
    [
      'enforced at the deadline once every warning was given',
      sent([60, '11:00'], [30, '11:30'], [10, '11:50'], [5, '11:55']),
      '12:00',
      undefined,
      true,
      '12:00',
    ],
    [
      'a run after the deadline with no warning: 60 minutes from now',
      [],
      '13:00',
      60,
      false,
      '14:00',
    ],
    [
      'a late 30-minute warning pushes enforcement back',
      sent([60, '13:00']),
      '14:10',
      30,
      false,
      '14:40',
    ],
    [
      'not enforced before the last warning’s lead has passed',
      sent([60, '11:00'], [30, '11:30'], [10, '11:50'], [5, '11:58']),
      '12:01',
      undefined,
      false,
      '12:03',
    ],
  ])('%s', (_what, given, now, warn, enforce, enforceAt) => {
    const step = deadlineStep(DEADLINE, given, at(now));
    expect(step.warn).toBe(warn);
    expect(step.enforce).toBe(enforce);
    expect(step.enforceAt.toISOString()).toBe(at(enforceAt).toISOString());
  });

  it('tells a scheduler when the next warning is due', () => {
    expect(deadlineStep(DEADLINE, [], at('09:00')).nextAt?.toISOString()).toBe(
      at('11:00').toISOString(),
    );
  });

  it.each<[string, SentWarning[], string, string | undefined]>([
    ['after the 60-minute warning given now: the 30-minute one', [], '11:00', '11:30'],
    ['after a late 30-minute warning: the 10-minute one', sent([60, '13:00']), '14:10', '14:30'],
    [
      'after the 5-minute warning: the enforcement',
      sent([60, '11:00'], [30, '11:30'], [10, '11:50']),
      '11:55',
      '12:00',
    ],
    [
      'nothing once it is enforced',
      sent([60, '11:00'], [30, '11:30'], [10, '11:50'], [5, '11:55']),
      '12:00',
      undefined,
    ],
  ])('tells a scheduler the step %s', (_what, given, now, nextAt) => {
    expect(deadlineStep(DEADLINE, given, at(now)).nextAt?.toISOString()).toBe(
      nextAt === undefined ? undefined : at(nextAt).toISOString(),
    );
  });
});

describe('giveWarning', () => {
  it('records a deadline-warning notification with the enforcement time', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'abbot-warn-'));
    try {
      const paths = { logsDir: dir };
      await giveWarning(
        loggingNotifier(paths, memoryLogger()),
        { name: 'Firefox', displayName: 'Mozilla Firefox' },
        10,
        DEADLINE,
      );
      const note = JSON.parse(await readFile(notificationLogPath(paths), 'utf8')) as Record<
        string,
        unknown
      >;
      expect(note).toMatchObject({
        kind: 'deadline-warning',
        title: 'Mozilla Firefox will be installed in 10 minutes',
        items: ['Firefox'],
        deadline: DEADLINE.toISOString(),
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

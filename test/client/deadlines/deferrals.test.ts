import { describe, expect, it } from 'vitest';
import { memoryLogger } from '../../../lib/log.js';
import {
  afterReminder,
  deferralPolicyOf,
  deferralsLeft,
  itemDeadline,
  normalizeDeferrals,
  type DeferralRecord,
} from '../../../client/deadlines/deferrals.js';

const FIRST = '2026-03-01T10:00:00.000Z';
const fresh: DeferralRecord = { firstSeen: FIRST, deferrals: 0, warnings: [] };
const UTC = () => 0;

describe('deferralPolicyOf', () => {
  it('reads deferral_days and max_deferrals', () => {
    expect(
      deferralPolicyOf({ name: 'A', deferral_days: 7, max_deferrals: 3 }, memoryLogger()),
    ).toEqual({
      deferralDays: 7,
      maxDeferrals: 3,
    });
  });

  it.each([[-1], [1.5], ['3']])(
    'ignores max_deferrals %j with a warning naming the item',
    (bad) => {
      const logger = memoryLogger();
      expect(deferralPolicyOf({ name: 'A', max_deferrals: bad }, logger)).toEqual({});
      expect(logger.entries[0]?.message).toBe(
        'A: max_deferrals must be a whole number of 0 or more; ignored',
      );
    },
  );
});

describe('itemDeadline', () => {
  it.each<[string, Record<string, unknown>, DeferralRecord, string | undefined]>([
    ['none without a policy or date', {}, fresh, undefined],
    ['first seen + deferral_days', { deferral_days: 3 }, fresh, '2026-03-04T10:00:00.000Z'],
    [
      'force_install_after_date when it is earlier',
      { deferral_days: 3, force_install_after_date: new Date('2026-03-02T08:00:00Z') },
      fresh,
      '2026-03-02T08:00:00.000Z',
    ],
    [
      'the moment deferrals ran out',
      { deferral_days: 30, max_deferrals: 2 },
      { ...fresh, deferrals: 3, exhaustedAt: '2026-03-03T09:00:00.000Z' },
      '2026-03-03T09:00:00.000Z',
    ],
  ])('is %s', (_what, keys, record, deadline) => {
    const item = { name: 'A', ...keys } as Parameters<typeof itemDeadline>[0];
    const policy = deferralPolicyOf(item, memoryLogger());
    expect(itemDeadline(item, policy, record, UTC)?.toISOString()).toBe(deadline);
  });
});

describe('afterReminder', () => {
  const now = new Date('2026-03-02T10:00:00Z');

  it('counts a deferral and keeps the deadline while some are left', () => {
    const r = afterReminder(fresh, { maxDeferrals: 2 }, now);
    expect(r).toMatchObject({ deferrals: 1, lastReminder: now.toISOString() });
    expect(r.exhaustedAt).toBeUndefined();
    expect(deferralsLeft({ maxDeferrals: 2 }, r)).toBe(1);
  });

  it('starts the deadline with the reminder after the last deferral', () => {
    const r = afterReminder({ ...fresh, deferrals: 2 }, { maxDeferrals: 2 }, now);
    expect(r.exhaustedAt).toBe(now.toISOString());
    expect(deferralsLeft({ maxDeferrals: 2 }, r)).toBe(0);
  });
});

describe('normalizeDeferrals', () => {
  it('keeps good records, drops malformed ones, and refuses a non-object', () => {
    expect(
      normalizeDeferrals({
        items: {
          good: {
            firstSeen: FIRST,
            deferrals: 2,
            warnings: [{ minutes: 60, at: FIRST }, { x: 1 }],
          },
          bad: { firstSeen: 'yesterday' },
        },
      }),
    ).toEqual({
      version: 1,
      items: { good: { firstSeen: FIRST, deferrals: 2, warnings: [{ minutes: 60, at: FIRST }] } },
    });
    expect(normalizeDeferrals([])).toBeUndefined();
  });
});

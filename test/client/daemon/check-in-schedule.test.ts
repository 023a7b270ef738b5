import { describe, expect, it } from 'vitest';
import {
  checkInExpression,
  checkInMinute,
  isInInstallWindow,
  parseInstallWindow,
} from '../../../client/daemon/check-in-schedule.js';
import { isAppError } from '../../../lib/errors.js';

/** 1,000 serials shaped like Apple's (C02 + 9 characters), deterministic. */
const serials = Array.from(
  { length: 1000 },
  (_, i) => `C02${(i * 7919 + 104729).toString(36).toUpperCase().padStart(9, 'X')}`,
);

describe('checkInMinute', () => {
  it('gives the same minute for the same serial every time', () => {
    expect(checkInMinute('C02TEST0001')).toBe(checkInMinute('C02TEST0001'));
    expect(serials.map(checkInMinute)).toEqual(serials.map(checkInMinute));
  });

  it('spreads 1,000 serials over every minute of the hour without crowding any', () => {
    const buckets = new Array<number>(60).fill(0);
    for (const s of serials) {
      const m = checkInMinute(s);
      expect(Number.isInteger(m) && m >= 0 && m < 60).toBe(true);
      buckets[m] = (buckets[m] ?? 0) + 1;
    }
    expect(buckets.every((n) => n > 0)).toBe(true);
    // Uniform would be 16.7 a minute; a fleet all at one minute is what this prevents.
    expect(Math.max(...buckets)).toBeLessThan(35);
  });

  it('gives serials one character apart different minutes (mostly)', () => {
    const minutes = new Set(['C02TEST0001', 'C02TEST0002', 'C02TEST0003'].map(checkInMinute));
    expect(minutes.size).toBeGreaterThan(1);
  });
});

describe('checkInExpression', () => {
  it('is hourly at the serial minute by default', () => {
    expect(checkInExpression(undefined, 'C02TEST0001')).toBe(
      `${checkInMinute('C02TEST0001')} * * * *`,
    );
  });

  it('is the CheckInSchedule preference when set', () => {
    expect(checkInExpression('*/30 8-18 * * 1-5', 'C02TEST0001')).toBe('*/30 8-18 * * 1-5');
  });
});

describe('install window', () => {
  const at = (h: number, m: number) => new Date(2026, 0, 15, h, m);

  it.each([
    ['01:00-05:00', at(0, 59), false],
    ['01:00-05:00', at(1, 0), true],
    ['01:00-05:00', at(4, 59), true],
    ['01:00-05:00', at(5, 0), false],
    ['22:30-02:00', at(23, 0), true],
    ['22:30-02:00', at(1, 59), true],
    ['22:30-02:00', at(12, 0), false],
    ['03:00-03:00', at(15, 0), true],
  ])('%s at %s is %s', (text, now, inside) => {
    expect(isInInstallWindow(parseInstallWindow(text), now)).toBe(inside);
  });

  it.each(['1:00-5:00', '25:00-01:00', '01:60-02:00', '01:00', ''])(
    'refuses "%s" with CONFIG_INVALID',
    (text) => {
      let error: unknown;
      try {
        parseInstallWindow(text);
      } catch (e) {
        error = e;
      }
      expect(isAppError(error, 'CONFIG_INVALID')).toBe(true);
      expect((error as Error).message).toContain('InstallWindow');
    },
  );
});

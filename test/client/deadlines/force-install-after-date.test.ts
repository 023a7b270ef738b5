import { describe, expect, it } from 'vitest';
import {
  forceInstallDeadline,
  isPastForceInstallDate,
} from '../../../client/deadlines/force-install-after-date.js';

describe('force_install_after_date (local wall-clock time, as Munki reads it)', () => {
  const date = new Date('2026-03-02T09:00:00Z'); // "09:00" on the Mac's clock

  it.each([
    ['UTC', 0, '2026-03-02T09:00:00.000Z'],
    ['two hours east (Athens)', 120, '2026-03-02T07:00:00.000Z'],
    ['five hours west (New York)', -300, '2026-03-02T14:00:00.000Z'],
  ])('falls due at 09:00 local in %s', (_zone, offset, instant) => {
    expect(forceInstallDeadline(date, () => offset)?.toISOString()).toBe(instant);
  });

  it.each([
    ['a string, as Munki 7 makepkginfo writes it', '2026-03-02T09:00:00Z'],
    ['an invalid date', new Date('nope')],
    ['nothing', undefined],
  ])('ignores %s', (_what, value) => {
    expect(forceInstallDeadline(value)).toBeUndefined();
    expect(isPastForceInstallDate(value, new Date('2030-01-01T00:00:00Z'))).toBe(false);
  });

  it.each([
    ['08:59:59 local', '2026-03-02T06:59:59Z', false],
    ['09:00 local', '2026-03-02T07:00:00Z', true],
  ])('is past at %s only from the deadline on', (_when, now, past) => {
    expect(isPastForceInstallDate(date, new Date(now), () => 120)).toBe(past);
  });
});

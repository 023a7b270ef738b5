/**
 * force_install_after_date as Munki reads it: the plist `<date>` holds the admin's wall-clock
 * time, not an instant, so `2026-03-02T09:00:00Z` means 09:00 on the Mac's own clock wherever it
 * is. The instant is the date minus the local UTC offset at that date. A string (which Munki 7's
 * makepkginfo writes) is not a date, and Munki ignores it; so do we.
 */

/** Minutes east of UTC at `at` in this process's zone (Munki's `secondsFromGMT(for:)`). */
export function localUtcOffsetMinutes(at: Date): number {
  return -at.getTimezoneOffset();
}

/** The instant a force_install_after_date value falls due; undefined when it is not a date. */
export function forceInstallDeadline(
  value: unknown,
  utcOffsetMinutes: (at: Date) => number = localUtcOffsetMinutes,
): Date | undefined {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) return undefined;
  return new Date(value.getTime() - utcOffsetMinutes(value) * 60_000);
}

/** True once `now` has reached the item's force_install_after_date (local wall-clock time). */
export function isPastForceInstallDate(
  value: unknown,
  now: Date,
  utcOffsetMinutes?: (at: Date) => number,
): boolean {
  const deadline = forceInstallDeadline(value, utcOffsetMinutes);
  return deadline !== undefined && now.getTime() >= deadline.getTime();
}

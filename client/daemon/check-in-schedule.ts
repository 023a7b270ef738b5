/**
 * When the daemon checks in. By default hourly, at a minute derived from the machine's serial
 * number: every Mac of a fleet keeps the same minute from hour to hour, and a fleet spreads over
 * the hour instead of hitting the repo together (what Munki 7's plain StartInterval does to
 * servers). `CheckInSchedule` replaces it with the admin's cron expression. `InstallWindow` limits
 * when login-window runs install everything.
 */
import { createHash } from 'node:crypto';
import { AppError } from '../../lib/errors.js';

/** The minute past each hour (0–59) this serial checks in at; the same serial, the same minute. */
export function checkInMinute(serial: string): number {
  // A cryptographic hash spreads even serials that differ in one character; 2^32 mod 60 is close
  // enough to uniform (the bias is under one in 70 million).
  const digest = createHash('sha256').update(`abbot-check-in:${serial}`).digest();
  return digest.readUInt32BE(0) % 60;
}

/** The cron expression the daemon schedules: the preference, else hourly at the serial's minute. */
export function checkInExpression(schedule: string | undefined, serial: string): string {
  return schedule ?? `${checkInMinute(serial)} * * * *`;
}

/** A daily span of local time, in minutes after midnight; `end` < `start` spans midnight. */
export interface InstallWindow {
  start: number;
  end: number;
}

/** Parses `HH:MM-HH:MM` (24-hour local time); AppError CONFIG_INVALID otherwise. */
export function parseInstallWindow(text: string): InstallWindow {
  const m = /^(\d\d):(\d\d)-(\d\d):(\d\d)$/.exec(text);
  const [h1, m1, h2, m2] = (m?.slice(1) ?? []).map(Number);
  if (
    h1 === undefined ||
    m1 === undefined ||
    h2 === undefined ||
    m2 === undefined ||
    h1 > 23 ||
    h2 > 23 ||
    m1 > 59 ||
    m2 > 59
  ) {
    throw new AppError('CONFIG_INVALID', `InstallWindow must be HH:MM-HH:MM (got "${text}")`, {
      hint: 'e.g. 01:00-05:00; the end may be earlier than the start for a window over midnight',
    });
  }
  return { start: h1 * 60 + m1, end: h2 * 60 + m2 };
}

/** True when `now` (local time) falls in the window; a window whose start equals its end is all day. */
export function isInInstallWindow(window: InstallWindow, now: Date): boolean {
  const minute = now.getHours() * 60 + now.getMinutes();
  if (window.start === window.end) return true;
  if (window.start < window.end) return minute >= window.start && minute < window.end;
  return minute >= window.start || minute < window.end;
}

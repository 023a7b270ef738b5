/**
 * Per-item deferrals: how long, and how many times, a logged-in user may put off an item before
 * its deadline comes. Two pkginfo keys of Abbot's own (Munki has no per-item deferral):
 * - `deferral_days`: the item may wait this many days after this Mac first had it pending;
 * - `max_deferrals`: the user may let this many reminders pass; the one after that starts the
 *   deadline.
 * The earlier of those and force_install_after_date is the item's deadline. What each Mac has
 * seen is kept in `<state>/deferrals.json` (atomic, locked, root-only, via the durable adapter),
 * together with the deadline warnings already given.
 */
import { join } from 'node:path';
import type { PlistDict } from '../../formats/index.js';
import type { Logger } from '../../lib/log.js';
import type { AbbotPaths } from '../platform/platform.js';
import { DurableJsonAdapter } from '../state/durable-adapter.js';
import { forceInstallDeadline } from './force-install-after-date.js';
import type { SentWarning } from './warnings.js';

const DAY_MS = 24 * 60 * 60_000;

/** What this Mac remembers about one pending item. */
export interface DeferralRecord {
  /** When it was first pending here (ISO). */
  firstSeen: string;
  /** Reminders the user let pass. */
  deferrals: number;
  /** When the last reminder was given (ISO). */
  lastReminder?: string;
  /** When the user ran out of deferrals (ISO): the deadline from then on. */
  exhaustedAt?: string;
  /** Deadline warnings already given. */
  warnings: SentWarning[];
}

/** The whole of `deferrals.json`. */
export interface DeferralData {
  version: 1;
  items: Record<string, DeferralRecord>;
}

/** An item's deferral policy, from its pkginfo keys. */
export interface DeferralPolicy {
  deferralDays?: number;
  maxDeferrals?: number;
}

/** `<stateDir>/deferrals.json`. */
export function deferralsFile(paths: Pick<AbbotPaths, 'stateDir'>): string {
  return join(paths.stateDir, 'deferrals.json');
}

const isIso = (v: unknown): v is string =>
  typeof v === 'string' && !Number.isNaN(new Date(v).getTime());
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

function recordFrom(v: unknown): DeferralRecord | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const r = v as Record<string, unknown>;
  if (!isIso(r['firstSeen'])) return undefined;
  const record: DeferralRecord = {
    firstSeen: r['firstSeen'],
    deferrals: isCount(r['deferrals']) ? r['deferrals'] : 0,
    warnings: Array.isArray(r['warnings'])
      ? r['warnings'].filter(
          (w): w is SentWarning =>
            isCount((w as SentWarning | null)?.minutes) && isIso((w as SentWarning).at),
        )
      : [],
  };
  if (isIso(r['lastReminder'])) record.lastReminder = r['lastReminder'];
  if (isIso(r['exhaustedAt'])) record.exhaustedAt = r['exhaustedAt'];
  return record;
}

/** Parsed JSON as DeferralData; malformed records are dropped, anything else is unusable. */
export function normalizeDeferrals(value: unknown): DeferralData | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const items = (value as { items?: unknown }).items;
  const data: DeferralData = { version: 1, items: {} };
  if (typeof items !== 'object' || items === null) return data;
  for (const [name, v] of Object.entries(items)) {
    const record = recordFrom(v);
    // defineProperty: an item named `__proto__` stays a plain key.
    if (record)
      Object.defineProperty(data.items, name, { value: record, enumerable: true, writable: true });
  }
  return data;
}

/** The store's adapter (atomic writes, a lock, a corrupt file moved aside). */
export function deferralStore(
  paths: Pick<AbbotPaths, 'stateDir'>,
  logger: Logger,
): DurableJsonAdapter<DeferralData> {
  return new DurableJsonAdapter<DeferralData>(deferralsFile(paths), {
    parse: normalizeDeferrals,
    logger,
  });
}

/**
 * The item's deferral policy; a key that is not a non-negative integer is ignored with a warning
 * naming the item (the rest of the pkginfo still applies).
 */
export function deferralPolicyOf(item: PlistDict, logger: Logger): DeferralPolicy {
  const policy: DeferralPolicy = {};
  for (const [key, field] of [
    ['deferral_days', 'deferralDays'],
    ['max_deferrals', 'maxDeferrals'],
  ] as const) {
    const v = item[key];
    if (v === undefined) continue;
    if (isCount(v)) policy[field] = v;
    else
      logger.warn(
        'deadlines.policy.invalid',
        `${String(item['name'])}: ${key} must be a whole number of 0 or more; ignored`,
      );
  }
  return policy;
}

/** True when the policy limits deferrals at all. */
export function hasDeferralPolicy(policy: DeferralPolicy): boolean {
  return policy.deferralDays !== undefined || policy.maxDeferrals !== undefined;
}

/** The earliest of force_install_after_date, the deferral days and the exhausted deferrals. */
export function itemDeadline(
  item: PlistDict,
  policy: DeferralPolicy,
  record: DeferralRecord | undefined,
  utcOffsetMinutes?: (at: Date) => number,
): Date | undefined {
  const candidates: number[] = [];
  const forced = forceInstallDeadline(item['force_install_after_date'], utcOffsetMinutes);
  if (forced) candidates.push(forced.getTime());
  if (record && policy.deferralDays !== undefined)
    candidates.push(new Date(record.firstSeen).getTime() + policy.deferralDays * DAY_MS);
  if (record?.exhaustedAt !== undefined) candidates.push(new Date(record.exhaustedAt).getTime());
  return candidates.length > 0 ? new Date(Math.min(...candidates)) : undefined;
}

/**
 * The record after a reminder at `now`: one more deferral; past max_deferrals the user has none
 * left and the deadline is now. Pure.
 */
export function afterReminder(
  record: DeferralRecord,
  policy: DeferralPolicy,
  now: Date,
): DeferralRecord {
  const deferrals = record.deferrals + 1;
  const exhausted =
    policy.maxDeferrals !== undefined && deferrals > policy.maxDeferrals && !record.exhaustedAt;
  return {
    ...record,
    deferrals,
    lastReminder: now.toISOString(),
    ...(exhausted ? { exhaustedAt: now.toISOString() } : {}),
  };
}

/** Deferrals the user has left (undefined when the count is not limited). */
export function deferralsLeft(policy: DeferralPolicy, record: DeferralRecord): number | undefined {
  return policy.maxDeferrals === undefined
    ? undefined
    : Math.max(0, policy.maxDeferrals - record.deferrals);
}

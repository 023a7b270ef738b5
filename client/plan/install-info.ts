/**
 * The plan in the two forms others read: Munki's InstallInfo.plist dictionary (so Munki's tools
 * and Managed Software Center read it) and the `abbot check --json` object DESIGN.md specifies.
 */
import { isPlistDict, PlistReal, type PlistDict, type PlistValue } from '../../formats/index.js';
import { toAppleUpdateJson, type AppleUpdateJson } from '../apple-updates/index.js';
import type { InstallPlan, OptionalItem, PlanItem } from './plan-types.js';

/** Munki's InstallInfo.plist dictionary; our `reason` field is left out, keys sorted as Apple writes them. */
export function toInstallInfo(plan: InstallPlan): PlistDict {
  return {
    featured_items: [...plan.featuredItems],
    managed_installs: plan.managedInstalls.map(withoutReason),
    managed_updates: [...plan.managedUpdates],
    optional_installs: plan.optionalInstalls.map(withoutReason),
    problem_items: plan.problemItems.map(withoutReason),
    processed_installs: [...plan.processedInstalls],
    processed_uninstalls: [...plan.processedUninstalls],
    removals: plan.removals.map(withoutReason),
  };
}

/** A plan item as `abbot check --json` prints it. */
export interface CheckJsonItem {
  name: string;
  display_name: string;
  version_to_install?: string;
  installed_version?: string;
  /** pkginfo installer_type; `pkg` when the pkginfo has none (an Apple package). */
  installer_type: string;
  reason: string;
  unattended: boolean;
  [key: string]: unknown;
}

/** The `abbot check --json` object. */
export interface CheckJson {
  manifest: string;
  installs: CheckJsonItem[];
  removals: CheckJsonItem[];
  optional: CheckJsonItem[];
  appleUpdates: AppleUpdateJson[];
  problems: { name: string; reason: string; requested: string }[];
}

/** The object `abbot check --json` prints; `manifestName` is the primary manifest used. */
export function toCheckJson(plan: InstallPlan, manifestName: string): CheckJson {
  return {
    manifest: manifestName,
    installs: plan.managedInstalls.map((item) =>
      checkItem(item, item.unattended_install === true, [
        'RestartAction',
        'force_install_after_date',
        'installer_item_size',
        'installed_size',
      ]),
    ),
    removals: plan.removals.map((item) =>
      checkItem(item, item.unattended_uninstall === true, [
        'RestartAction',
        'uninstall_method',
        'packages',
      ]),
    ),
    optional: plan.optionalInstalls.map((item) =>
      checkItem(item, false, [
        'installed',
        'needs_update',
        'will_be_installed',
        'will_be_removed',
        'note',
      ]),
    ),
    appleUpdates: (plan.appleUpdates ?? []).map(toAppleUpdateJson),
    problems: plan.problemItems.map((item) => ({
      name: item.name,
      reason: typeof item.note === 'string' ? item.note : item.reason,
      requested: item.reason,
    })),
  };
}

function checkItem(
  item: PlanItem | OptionalItem,
  unattended: boolean,
  extraKeys: readonly string[],
): CheckJsonItem {
  const out: CheckJsonItem = {
    name: item.name,
    display_name: typeof item['display_name'] === 'string' ? item['display_name'] : item.name,
    installer_type: typeof item['installer_type'] === 'string' ? item['installer_type'] : 'pkg',
    reason: item.reason,
    unattended,
  };
  const toInstall = item['version_to_install'];
  const installed = item['installed_version'];
  if (typeof toInstall === 'string') out.version_to_install = toInstall;
  if (typeof installed === 'string') out.installed_version = installed;
  for (const key of extraKeys) {
    const value = item[key];
    if (value !== undefined) out[key] = toJsonValue(value);
  }
  return out;
}

function withoutReason(item: PlanItem | OptionalItem): PlistDict {
  const { reason: _reason, ...rest } = item;
  return rest;
}

/** Plist values as plain JSON: dates as ISO strings, data as base64, big integers as strings. */
export function toJsonValue(value: PlistValue): unknown {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (value instanceof PlistReal) return value.value;
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(toJsonValue);
  if (isPlistDict(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      // defineProperty: a `__proto__` key must stay data, not become the prototype
      Object.defineProperty(out, k, {
        value: toJsonValue(v),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return value;
}

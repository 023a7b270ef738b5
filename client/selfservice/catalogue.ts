/**
 * What the self-service page shows: the optional items of the last check (InstallInfo.plist's
 * optional_installs, featured items first, then by name) each with its status and buttons, and the
 * managed updates still pending with their deadlines. Built from files the client already keeps;
 * `buildCatalogue` is pure, `loadCatalogueSources` reads them.
 */
import { readFile, readdir } from 'node:fs/promises';
import { isPlistDict, parsePlist, type PlistDict, type PlistValue } from '../../formats/index.js';
import { describeError } from '../../lib/errors.js';
import type { AbbotPaths } from '../platform/platform.js';
import { clientStateFile, peekClientState, type InstallRecord } from '../state/client-state.js';
import { iconFileName, isServableIcon } from './icons.js';
import { pendingUpdates, type PendingUpdateView } from './pending-updates.js';
import { readRunProgress, type RunProgress } from './run-progress.js';
import { choicesOf, readSelfServeManifest } from './self-serve-manifest.js';
import {
  itemActions,
  itemStatus,
  statusText,
  type ItemAction,
  type ItemActivity,
  type ItemStatus,
  type LastAttempt,
} from './status.js';

/** One optional item as the page shows it. */
export interface OfferView {
  name: string;
  displayName: string;
  description: string;
  category: string;
  developer: string;
  version: string;
  /** Installed size in bytes (pkginfo sizes are KiB). */
  sizeBytes: number;
  featured: boolean;
  /** The icon's file name, when a valid copy is cached. */
  icon?: string;
  /** Why it cannot be installed (e.g. it needs a newer macOS). */
  note?: string;
  status: ItemStatus;
  statusText: string;
  actions: ItemAction[];
}

/** Everything on the page. */
export interface Catalogue {
  offers: OfferView[];
  pending: PendingUpdateView[];
  /** Every category, sorted. */
  categories: string[];
  /** Problems reading the sources, for the page and the log. */
  warnings: string[];
}

/** What the catalogue is built from. */
export interface CatalogueSources {
  installInfo: PlistDict;
  selfServe: PlistDict;
  /** The client state's install history, oldest first. */
  history: readonly InstallRecord[];
  progress?: RunProgress | undefined;
  /** Requests this server is carrying out, by item name. */
  activity: ReadonlyMap<string, ItemActivity>;
  /** Icon files cached in `<state>/icons/`. */
  icons: ReadonlySet<string>;
  warnings: string[];
}

// A progress file older than this was left by a run that was killed.
const STALE_PROGRESS_MS = 30 * 60 * 1000;

const str = (v: PlistValue | undefined): string => (typeof v === 'string' ? v : '');
const dicts = (info: PlistDict, key: string): PlistDict[] => {
  const v = info[key];
  return Array.isArray(v) ? v.filter(isPlistDict) : [];
};

/** Builds the page's content from its sources. */
export function buildCatalogue(sources: CatalogueSources, now: Date = new Date()): Catalogue {
  const featured = new Set(
    (Array.isArray(sources.installInfo['featured_items'])
      ? sources.installInfo['featured_items']
      : []
    ).filter((x): x is string => typeof x === 'string'),
  );
  const choices = choicesOf(sources.selfServe);
  const lastAttempts = new Map<string, LastAttempt>();
  for (const r of sources.history) {
    lastAttempts.set(r.name, {
      action: r.action,
      result: r.result,
      ...(r.error !== undefined ? { error: r.error } : {}),
    });
  }
  const progress =
    sources.progress && now.getTime() - Date.parse(sources.progress.at) < STALE_PROGRESS_MS
      ? sources.progress
      : undefined;

  const offers: OfferView[] = [];
  for (const offer of dicts(sources.installInfo, 'optional_installs')) {
    const name = str(offer['name']);
    if (name === '') continue;
    const choice = choices.installs.includes(name)
      ? true
      : choices.uninstalls.includes(name)
        ? false
        : undefined;
    const activity = activityFor(name, choice, sources.activity.get(name), progress);
    const status = itemStatus({ offer, choice, activity, lastAttempt: lastAttempts.get(name) });
    const icon = iconFileName(offer);
    const size = offer['installed_size'] ?? offer['installer_item_size'];
    const view: OfferView = {
      name,
      displayName: str(offer['display_name']) || name,
      description: str(offer['description']),
      category: str(offer['category']),
      developer: str(offer['developer']),
      version: str(offer['version_to_install']),
      sizeBytes: typeof size === 'number' ? Math.round(size * 1024) : 0,
      featured: featured.has(name) || offer['featured'] === true,
      status,
      statusText: statusText(status),
      actions: itemActions(status, offer),
    };
    if (sources.icons.has(icon)) view.icon = icon;
    const note = str(offer['note']);
    if (note !== '') view.note = note;
    offers.push(view);
  }
  offers.sort(
    (a, b) =>
      Number(b.featured) - Number(a.featured) ||
      a.displayName.localeCompare(b.displayName, 'en', { sensitivity: 'base' }),
  );

  const categories = [...new Set(offers.map((o) => o.category).filter((c) => c !== ''))].sort();
  return {
    offers,
    pending: pendingUpdates(sources.installInfo),
    categories,
    warnings: sources.warnings,
  };
}

/**
 * A request of this server, or a run reporting progress for the item (one started from the
 * terminal shows on the page too).
 */
function activityFor(
  name: string,
  choice: boolean | undefined,
  own: ItemActivity | undefined,
  progress: RunProgress | undefined,
): ItemActivity | undefined {
  if (own?.error !== undefined) return own;
  if (!progress?.items.includes(name)) return own;
  const action = own?.action ?? (choice === false ? 'removal' : 'install');
  // Only a download's progress is a fraction of this item's work; "3 of 3 items" is not.
  const percent = progress.label.startsWith('Downloading') ? progress.percent : undefined;
  return { action, detail: progress.label, ...(percent !== undefined ? { percent } : {}) };
}

async function readDict(path: string, warnings: string[]): Promise<PlistDict> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') warnings.push(describeError(e));
    return {};
  }
  try {
    const value = parsePlist(bytes, { source: path });
    if (isPlistDict(value)) return value;
    warnings.push(`${path}: not a dictionary`);
  } catch (e) {
    warnings.push(describeError(e));
  }
  return {};
}

/** The optional_installs entries of InstallInfo.plist (none when it is missing or unreadable). */
export async function readOptionalInstalls(
  paths: Pick<AbbotPaths, 'installInfo'>,
): Promise<PlistDict[]> {
  return dicts(await readDict(paths.installInfo, []), 'optional_installs');
}

/** Reads the catalogue's sources from the client's files. */
export async function loadCatalogueSources(
  paths: Pick<AbbotPaths, 'installInfo' | 'manifestsDir' | 'stateDir' | 'iconsDir'>,
  activity: ReadonlyMap<string, ItemActivity>,
): Promise<CatalogueSources> {
  const warnings: string[] = [];
  const [installInfo, selfServe, state, progress, iconFiles] = await Promise.all([
    readDict(paths.installInfo, warnings),
    readSelfServeManifest(paths).catch((e: unknown) => {
      warnings.push(describeError(e));
      return {};
    }),
    peekClientState(paths).catch((e: unknown) => {
      warnings.push(describeError(e));
      return { state: 'missing' } as const;
    }),
    readRunProgress(paths),
    readdir(paths.iconsDir).catch(() => [] as string[]),
  ]);
  if (state.state === 'corrupt') warnings.push(`${clientStateFile(paths)}: ${state.reason}`);
  return {
    installInfo,
    selfServe,
    history: state.state === 'ok' ? state.value.history : [],
    progress,
    activity,
    icons: new Set(iconFiles.filter(isServableIcon)),
    warnings,
  };
}

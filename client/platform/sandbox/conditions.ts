/**
 * Admin condition scripts, as Munki runs them: every non-dot regular file in `<state>/conditions/`
 * that passes the safety checks is run (60 s limit each, in name order). They write their facts to
 * the plist named by ABBOT_CONDITIONS_PLIST (`<state>/ConditionalItems.plist`), which is deleted
 * before the scripts run and after it is read; its dict is merged OVER the built-in facts.
 *
 * Safety checks (a condition script runs as root): executable, not world-writable, owned by root.
 * In the sandbox, which usually runs as an ordinary user, the current user's files are accepted
 * too. On macOS the group must also be wheel or admin, as Munki requires.
 */
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PlistReal, isPlistDict, parsePlist } from '../../../formats/index.js';
import type { PlistValue } from '../../../formats/index.js';
import { describeError } from '../../../lib/errors.js';
import type { Logger } from '../../../lib/log.js';
import { runCommand, shellExitStatus } from '../../../lib/run-command.js';
import type { FactValue, Facts } from '../../../manifests/index.js';
import type { AbbotPaths, Platform } from '../platform.js';

/** How long one condition script may run (Munki's limit). */
export const CONDITION_SCRIPT_TIMEOUT_MS = 60_000;

const WHEEL_GID = 0;
const ADMIN_GID = 80;

/**
 * Runs the admin condition scripts and returns the facts they wrote (empty when there are none).
 * Skipped and failing scripts are logged, never fatal.
 */
export async function runConditionScripts(
  platform: Pick<Platform, 'kind'>,
  paths: Pick<AbbotPaths, 'root' | 'conditionsDir' | 'conditionalItems'>,
  logger: Logger,
  options: { timeoutMs?: number } = {},
): Promise<Record<string, FactValue>> {
  // Facts left by an earlier run must not pass for this run's.
  await rm(paths.conditionalItems, { force: true });
  let names: string[];
  try {
    names = await readdir(paths.conditionsDir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') {
      logger.warn('conditions.dir.unreadable', `${paths.conditionsDir}: cannot list (${code})`);
    }
    return {};
  }

  for (const name of names.filter((n) => !n.startsWith('.')).sort()) {
    const script = join(paths.conditionsDir, name);
    const reason = await whyNotRunnable(script, platform.kind);
    if (reason === 'folder') continue; // Munki passes over folders silently
    if (reason !== undefined) {
      logger.warn('conditions.script.skipped', `${script}: skipped: ${reason}`, { script, reason });
      continue;
    }
    try {
      const result = await runCommand([script], {
        env: {
          ...process.env,
          ABBOT_ROOT: paths.root,
          ABBOT_CONDITIONS_PLIST: paths.conditionalItems,
        },
        timeoutMs: options.timeoutMs ?? CONDITION_SCRIPT_TIMEOUT_MS,
      });
      if (result.timedOut) {
        logger.warn('conditions.script.failed', `${script}: timed out and was killed`, { script });
      } else if (result.exitCode !== 0) {
        const status = shellExitStatus(result);
        logger.warn('conditions.script.failed', `${script}: exited with status ${status}`, {
          script,
          status,
          stderr: result.stderr.slice(-2048),
        });
      }
    } catch (e) {
      logger.warn('conditions.script.failed', `${script}: ${describeError(e)}`, { script });
    }
  }
  return readConditionFacts(paths.conditionalItems, logger);
}

/** The built-in facts with the admin's facts laid over them (an admin's key wins). */
export function mergeConditionFacts(builtIn: Facts, conditions: Record<string, FactValue>): Facts {
  return Object.freeze({ ...builtIn, ...conditions });
}

/** Why a condition script must not run, or undefined when it may. */
async function whyNotRunnable(script: string, kind: Platform['kind']): Promise<string | undefined> {
  let info;
  try {
    info = await stat(script); // follows a symlink: the checks are about the file that runs
  } catch (e) {
    return `cannot stat (${(e as NodeJS.ErrnoException).code})`;
  }
  if (info.isDirectory()) return 'folder';
  if (!info.isFile()) return 'not a regular file';
  if ((info.mode & 0o111) === 0) return 'not executable';
  if ((info.mode & 0o002) !== 0) return 'world-writable';
  const uid = process.getuid?.();
  const isOwnerOk = info.uid === 0 || (kind === 'sandbox' && info.uid === uid);
  if (!isOwnerOk) return `owned by uid ${info.uid}, not root`;
  if (kind === 'macos' && info.gid !== WHEEL_GID && info.gid !== ADMIN_GID) {
    return `group ${info.gid} is neither wheel nor admin`;
  }
  return undefined;
}

/** Reads and deletes the conditions plist; its dict as facts (unusable values dropped). */
async function readConditionFacts(
  file: string,
  logger: Logger,
): Promise<Record<string, FactValue>> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch {
    return {}; // no script wrote anything: not worth a warning
  }
  await rm(file, { force: true });
  let root: PlistValue;
  try {
    root = parsePlist(bytes, { source: file });
  } catch (e) {
    logger.warn('conditions.plist.invalid', `${describeError(e)}; condition facts ignored`);
    return {};
  }
  if (!isPlistDict(root)) {
    logger.warn('conditions.plist.invalid', `${file}: not a dictionary; condition facts ignored`);
    return {};
  }
  const facts: Record<string, FactValue> = {};
  for (const [key, value] of Object.entries(root)) {
    const fact = toFactValue(value);
    if (fact === undefined) {
      logger.warn(
        'conditions.fact.ignored',
        `${file}: ${key} holds data, which no condition can use`,
      );
    } else {
      facts[key] = fact;
    }
  }
  return facts;
}

/** A plist value as a fact; `<data>` has no fact form (undefined). */
function toFactValue(value: PlistValue): FactValue | undefined {
  if (value instanceof Uint8Array) return undefined;
  if (value instanceof PlistReal) return value.value;
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) {
    return value.map(toFactValue).filter((v): v is FactValue => v !== undefined);
  }
  if (isPlistDict(value)) {
    const dict: Record<string, FactValue> = {};
    for (const [k, v] of Object.entries(value)) {
      const fact = toFactValue(v);
      if (fact !== undefined) dict[k] = fact;
    }
    return dict;
  }
  return value;
}

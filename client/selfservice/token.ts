/**
 * The per-user self-service token. The daemon runs as root and its page changes what is installed,
 * so the page and its API answer only to someone holding the console user's token: a random
 * 256-bit value in `<state>/selfservice/tokens/<user>`, mode 0600 and (on macOS) owned by that
 * user, so only they (and root) can read it. `abbot selfservice open` reads it and hands the page's
 * address with the token to the user's browser.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chown, mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../lib/atomic-write.js';
import { AppError } from '../../lib/errors.js';
import type { AbbotPaths } from '../platform/platform.js';

const TOKEN = /^[0-9a-f]{64}$/;
// macOS short names: letters, digits, `_`, `-`, `.`; never a path.
const USER_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$/;

/** Who owns a token file (macOS); tokens in the sandbox keep the writer's ownership. */
export interface TokenOwner {
  uid: number;
  gid: number;
}

/** `<state>/selfservice/tokens/<user>`; a user name that could leave the folder is refused. */
export function tokenPath(paths: Pick<AbbotPaths, 'stateDir'>, user: string): string {
  if (!USER_NAME.test(user) || user.includes('..')) {
    throw new AppError(
      'PATH_UNSAFE',
      `user name ${JSON.stringify(user)} is not a macOS short name`,
    );
  }
  return join(paths.stateDir, 'selfservice', 'tokens', user);
}

/**
 * The user's token, created when missing (or when the file is not a token, or readable by others).
 * With `owner` the file is given to that user, so they can read it without root.
 */
export async function ensureUserToken(
  paths: Pick<AbbotPaths, 'stateDir'>,
  user: string,
  owner?: TokenOwner,
): Promise<string> {
  const path = tokenPath(paths, user);
  const existing = await readFile(path, 'utf8').catch(() => undefined);
  const info = existing === undefined ? undefined : await stat(path).catch(() => undefined);
  const isPrivate = info !== undefined && (info.mode & 0o077) === 0;
  const isOwned = owner === undefined || info?.uid === owner.uid;
  if (existing !== undefined && TOKEN.test(existing.trim()) && isPrivate && isOwned) {
    return existing.trim();
  }
  // Tokens folder: others may pass through to their own file but not list who has one.
  await mkdir(join(paths.stateDir, 'selfservice', 'tokens'), { recursive: true, mode: 0o711 });
  const token = randomBytes(32).toString('hex');
  await writeFileAtomic(path, token + '\n', { mode: 0o600 });
  if (owner) await chown(path, owner.uid, owner.gid);
  return token;
}

/** Reads the user's token; a one-line error says why when it cannot be had. */
export async function readUserToken(
  paths: Pick<AbbotPaths, 'stateDir'>,
  user: string,
): Promise<string> {
  const path = tokenPath(paths, user);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new AppError('NOT_FOUND', `${path}: no self-service token for ${user}`, {
        hint: 'abbot daemon creates it when it starts; is the daemon running?',
      });
    }
    throw new AppError('IO', `${path}: ${code === 'EACCES' ? `only ${user} can read it` : code}`);
  }
  const token = text.trim();
  if (!TOKEN.test(token)) {
    throw new AppError('SCHEMA_INVALID', `${path}: not a self-service token`, {
      hint: 'delete it; abbot daemon writes a new one',
    });
  }
  return token;
}

/** Compares a presented token with the expected one in constant time. */
export function isSameToken(presented: string | undefined, expected: string): boolean {
  if (presented === undefined) return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The per-user self-service token file. */
import { mkdtemp, readFile, rm, stat, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ensureUserToken,
  isSameToken,
  readUserToken,
  tokenPath,
} from '../../../client/selfservice/token.js';

let stateDir: string;
beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'abbot-token-'));
});
afterEach(() => rm(stateDir, { recursive: true, force: true }));

describe('self-service token', () => {
  it('is 256 random bits in a file only its user can read (0600)', async () => {
    const token = await ensureUserToken({ stateDir }, 'alice');
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    const info = await stat(tokenPath({ stateDir }, 'alice'));
    expect(info.mode & 0o777).toBe(0o600);
    expect(await readUserToken({ stateDir }, 'alice')).toBe(token);
  });

  it('stays the same across restarts, and differs per user', async () => {
    const first = await ensureUserToken({ stateDir }, 'alice');
    expect(await ensureUserToken({ stateDir }, 'alice')).toBe(first);
    expect(await ensureUserToken({ stateDir }, 'bob')).not.toBe(first);
  });

  it('is replaced when its file became readable by others', async () => {
    const first = await ensureUserToken({ stateDir }, 'alice');
    await chmod(tokenPath({ stateDir }, 'alice'), 0o644);
    const second = await ensureUserToken({ stateDir }, 'alice');
    expect(second).not.toBe(first);
    expect((await stat(tokenPath({ stateDir }, 'alice'))).mode & 0o777).toBe(0o600);
  });

  it.each(['../root', '/etc/passwd', 'a/b', '..', ''])('refuses the user name %j', (user) => {
    expect(() => tokenPath({ stateDir }, user)).toThrow(/not a macOS short name/);
  });

  it('says how to get a token when there is none', async () => {
    await expect(readUserToken({ stateDir }, 'alice')).rejects.toThrow(
      /no self-service token for alice/,
    );
  });

  it('refuses a file that is not a token', async () => {
    await ensureUserToken({ stateDir }, 'alice');
    await writeFile(tokenPath({ stateDir }, 'alice'), 'hello');
    await expect(readUserToken({ stateDir }, 'alice')).rejects.toThrow(/not a self-service token/);
    expect(await readFile(tokenPath({ stateDir }, 'alice'), 'utf8')).toBe('hello');
  });

  it('compares tokens whole', () => {
    expect(isSameToken('abc', 'abc')).toBe(true);
    expect(isSameToken('abd', 'abc')).toBe(false);
    expect(isSameToken('ab', 'abc')).toBe(false);
    expect(isSameToken(undefined, 'abc')).toBe(false);
  });
});

import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  credentialSourceFrom,
  readCredentials,
} from '../../../client/apple-updates/credentials.js';
import { readToolCalls, writeFakeTool } from '../../helpers/fake-tools.js';

const PASSWORD = 'c0rrect horse:battery$staple';
const roots: string[] = [];
afterEach(async () => {
  for (const r of roots.splice(0)) await rm(r, { recursive: true, force: true });
});

async function rootWithScript(body: string): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'abbot-cred-'));
  roots.push(root);
  const file = join(root, 'Library/Abbot/credentials.sh');
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `#!/bin/sh\n${body}\n`);
  await chmod(file, 0o700);
  return root;
}

const script = { kind: 'script', path: '/Library/Abbot/credentials.sh' } as const;

describe('credentialSourceFrom', () => {
  it('prefers the script, then a complete keychain item, else nothing', () => {
    const none = {
      AppleUpdateCredentialScript: undefined,
      AppleUpdateKeychainService: undefined,
      AppleUpdateKeychainAccount: undefined,
    };
    expect(credentialSourceFrom(none)).toBeUndefined();
    expect(credentialSourceFrom({ ...none, AppleUpdateKeychainService: 'svc' })).toBeUndefined();
    expect(
      credentialSourceFrom({
        ...none,
        AppleUpdateKeychainService: 'svc',
        AppleUpdateKeychainAccount: 'admin',
      }),
    ).toEqual({ kind: 'keychain', service: 'svc', account: 'admin' });
    expect(
      credentialSourceFrom({
        ...none,
        AppleUpdateCredentialScript: '/x.sh',
        AppleUpdateKeychainService: 's',
      }),
    ).toEqual({ kind: 'script', path: '/x.sh' });
  });
});

describe('readCredentials from a script', () => {
  it('takes the user from line 1 and the password from line 2, keeping the password out of JSON', async () => {
    const root = await rootWithScript(`printf 'admin\\n%s\\n' '${PASSWORD}'`);
    const creds = await readCredentials(script, root);
    expect(creds.user).toBe('admin');
    expect(creds.password).toBe(PASSWORD);
    expect(JSON.stringify(creds)).toBe('{"user":"admin"}');
    expect(`${String(creds)}`).toBe('admin');
  });

  it('fails without echoing what the script printed when it exits non-zero', async () => {
    const root = await rootWithScript(`echo '${PASSWORD}'; echo '${PASSWORD}' >&2; exit 3`);
    const err: unknown = await readCredentials(script, root).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    const message = (err as Error).message;
    expect(message).toBe('credential script /Library/Abbot/credentials.sh exited with status 3');
    expect(message).not.toContain(PASSWORD);
  });

  it('refuses output that is not exactly two lines', async () => {
    const root = await rootWithScript(`printf 'admin\\n'`);
    await expect(readCredentials(script, root)).rejects.toThrow(/must print exactly two lines/);
  });

  it('refuses a path with ".."', async () => {
    await expect(
      readCredentials({ kind: 'script', path: '/tmp/../etc/x' }, '/nonexistent'),
    ).rejects.toMatchObject({
      code: 'PATH_UNSAFE',
    });
  });

  it('kills a script that hangs', async () => {
    const root = await rootWithScript('sleep 30');
    await expect(readCredentials(script, root, { timeoutMs: 200 })).rejects.toThrow(/timed out/);
  });
});

describe('readCredentials from the keychain', () => {
  const item = { kind: 'keychain', service: 'org.abbot.volume-owner', account: 'admin' } as const;

  /** A root whose fake `security` runs `body`; `note` says where its behaviour comes from. */
  async function rootWithSecurity(note: string, body: string): Promise<string> {
    const root = await mkdtemp(join(tmpdir(), 'abbot-cred-'));
    roots.push(root);
    await writeFakeTool(root, join(root, 'argv.log'), '/usr/bin/security', note, body);
    return root;
  }

  it('runs <root>/usr/bin/security find-generic-password -s -a -w and strips its newline', async () => {
    const root = await rootWithSecurity(
      'reconstructed from security(1): -w prints the password and a newline (not a recording)',
      `printf '%s\\n' '${PASSWORD}'`,
    );
    const creds = await readCredentials(item, root);
    expect(creds).toMatchObject({ user: 'admin' });
    expect(creds.password).toBe(PASSWORD);
    expect(await readToolCalls(join(root, 'argv.log'))).toEqual([
      [
        '/usr/bin/security',
        'find-generic-password',
        '-s',
        'org.abbot.volume-owner',
        '-a',
        'admin',
        '-w',
      ],
    ]);
  });

  it("reports security's own error when the item is missing", async () => {
    const root = await rootWithSecurity(
      "reconstructed from security(1)'s error for a missing item (errSecItemNotFound, status 44); not a recording",
      "echo 'security: SecKeychainSearchCopyNext: The specified item could not be found in the keychain.' >&2; exit 44",
    );
    await expect(readCredentials(item, root)).rejects.toThrow(
      'keychain item org.abbot.volume-owner (account admin) exited with status 44: security: SecKeychainSearchCopyNext: The specified item could not be found in the keychain.',
    );
  });
});

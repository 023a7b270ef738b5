/**
 * `repo serve --tls` end to end: the CA and server certificate are made on first use (outside
 * the repo) and reused after, and a real `abbot check` + `abbot install` into a sandbox root runs
 * against the example repo served that way, trusting only the printed CA.
 */
import { cp, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryLogger } from '../../lib/log.js';
import { makeCatalogs } from '../../repo-tools/commands/makecatalogs.js';
import { startServe, type ServeSession } from '../../repo-tools/commands/serve.js';
import { abbotCli } from '../helpers/cli.js';
import { makeSandboxRoot } from '../helpers/sandbox-root.js';
import { checkInAndInstallExample } from './serve-test-client.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/repo', import.meta.url));
const cleanup: string[] = [];
let repo: string;
let tlsDir: string;
let session: ServeSession;
const out: string[] = [];

const serve = (lines: string[]) =>
  startServe({
    repo,
    port: '0',
    host: '127.0.0.1',
    isTls: true,
    env: { ABBOT_SERVE_TLS_DIR: tlsDir },
    out: (line) => lines.push(line),
    isQuiet: true,
    logger: memoryLogger(),
  });

beforeAll(async () => {
  repo = await mkdtemp(join(tmpdir(), 'abbot-serve-repo-'));
  const state = await mkdtemp(join(tmpdir(), 'abbot-serve-tls-'));
  cleanup.push(repo, state);
  tlsDir = join(state, 'serve-tls');
  await cp(EXAMPLE, repo, { recursive: true });
  await makeCatalogs({ repo, logger: memoryLogger(), cache: false });
  session = await serve(out);
}, 60_000);
afterAll(async () => {
  await session?.server.close();
  for (const p of cleanup) await rm(p, { recursive: true, force: true });
});

describe('repo serve --tls', () => {
  it('makes a CA outside the repo on first use and prints where it is', async () => {
    expect(session.caCert).toBe(join(tlsDir, 'ca.pem'));
    expect(out).toContain(`Made a CA and a server certificate in ${tlsDir}`);
    expect(out).toContain(
      `Clients trust it with SoftwareRepoCACertificate = ${join(tlsDir, 'ca.pem')}`,
    );
    expect(out.some((l) => l.startsWith(`Serving ${repo} at https://localhost:`))).toBe(true);
    expect((await stat(join(tlsDir, 'server.key'))).mode & 0o077).toBe(0);
  });

  it('reuses the same CA the next time', async () => {
    const before = await readFile(join(tlsDir, 'ca.pem'), 'utf8');
    const lines: string[] = [];
    const again = await serve(lines);
    await again.server.close();
    expect(lines.some((l) => l.startsWith('Made a CA'))).toBe(false);
    expect(await readFile(join(tlsDir, 'ca.pem'), 'utf8')).toBe(before);
  });

  it('serves a real check-in and install into a sandbox', async () => {
    cleanup.push(await checkInAndInstallExample(session.server.url, session.caCert!));
  });

  it('is not trusted by a client without the CA', async () => {
    const root = await makeSandboxRoot({ preferences: { HttpRetries: 0 } });
    cleanup.push(root);
    const check = await abbotCli([
      'check',
      '--root',
      root,
      '--repo-url',
      session.server.url,
      '--client-id',
      'site_default',
    ]);
    expect(check.code).toBe(1);
    expect(check.stderr).toMatch(/certificate/i);
  });
});

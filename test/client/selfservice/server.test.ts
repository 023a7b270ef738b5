/**
 * The self-service server against a sandbox root and a repo served over HTTPS: its security rules,
 * one test each, and the install and remove flow through the real targeted run.
 */
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePlist, type PlistDict } from '../../../formats/index.js';
import { memoryLogger } from '../../../lib/log.js';
import { runCheck } from '../../../client/check/run-check.js';
import { startSelfService, type SelfServiceHandle } from '../../../client/selfservice/server.js';
import { selfServeManifestPath } from '../../../client/selfservice/self-serve-manifest.js';
import { runSelfServiceRequest } from '../../../client/selfservice/targeted-run.js';
import { tokenPath } from '../../../client/selfservice/token.js';
import {
  makeSelfServiceWorld,
  ODD_NAME,
  sketchpadReceipt,
  type SelfServiceWorld,
} from './fixture.js';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

let world: SelfServiceWorld;
let service: SelfServiceHandle;
let port: number;
let token: string;
const runs: string[][] = [];
const logger = memoryLogger();

function request(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method, path, headers: { host: `127.0.0.1:${port}`, ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const all = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: all,
            text: all.toString(),
          });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const cookie = (): Record<string, string> => ({ cookie: `abbot_selfservice=${token}` });
const post = (path: string, name: string, headers: Record<string, string> = {}): Promise<Reply> =>
  request(
    'POST',
    path,
    {
      'content-type': 'application/json',
      'x-abbot-token': token,
      origin: `http://127.0.0.1:${port}`,
      ...cookie(),
      ...headers,
    },
    JSON.stringify({ name }),
  );

interface StatusItem {
  name: string;
  kind: string;
  text: string;
  buttons: { action: string; label: string }[];
}

async function statusOf(name: string): Promise<StatusItem | undefined> {
  const r = await request('GET', '/api/status', cookie());
  return (JSON.parse(r.text) as { items: StatusItem[] }).items.find((i) => i.name === name);
}

async function waitFor(name: string, kind: string): Promise<StatusItem> {
  const until = Date.now() + 20_000;
  for (;;) {
    const item = await statusOf(name);
    if (item?.kind === kind) return item;
    if (Date.now() > until) throw new Error(`${name} is ${item?.kind ?? 'missing'}, not ${kind}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function selfServe(): Promise<PlistDict> {
  const path = selfServeManifestPath(world.platform.paths);
  return existsSync(path) ? (parsePlist(await readFile(path)) as PlistDict) : {};
}

beforeAll(async () => {
  world = await makeSelfServiceWorld();
  const { platform, config } = world;
  await runCheck({ platform, config, logger });
  service = await startSelfService({
    platform,
    config,
    logger,
    port: 0,
    requestRun: async ({ items }) => {
      runs.push(items);
      await runSelfServiceRequest({ platform, config, logger, items });
    },
  });
  port = Number(new URL(service.url).port);
  token = (await readFile(tokenPath(platform.paths, 'alice'), 'utf8')).trim();
});
afterAll(async () => {
  await service?.close();
  await world?.cleanup();
});

describe('self-service server security', () => {
  it('listens on 127.0.0.1 only', () => {
    expect(service.url).toBe(`http://127.0.0.1:${port}/`);
  });

  it('keeps the token in a file only its user can read (0600)', async () => {
    const info = await stat(tokenPath(world.platform.paths, 'alice'));
    expect(info.mode & 0o777).toBe(0o600);
    expect(token).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses the page without the token (403)', async () => {
    const r = await request('GET', '/');
    expect(r.status).toBe(403);
    expect(r.text).not.toContain('Sketchpad');
  });

  it('refuses a wrong token (403)', async () => {
    expect(
      (await request('GET', '/', { cookie: `abbot_selfservice=${'0'.repeat(64)}` })).status,
    ).toBe(403);
    expect((await request('GET', `/?token=${'f'.repeat(64)}`)).status).toBe(403);
  });

  it('trades the token in the address for an HttpOnly SameSite=Strict cookie', async () => {
    const r = await request('GET', `/?token=${token}`);
    expect(r.status).toBe(303);
    expect(r.headers.location).toBe('/');
    expect(r.headers['set-cookie']?.[0]).toMatch(/HttpOnly; SameSite=Strict/);
    const page = await request('GET', '/', cookie());
    expect(page.status).toBe(200);
    expect(page.text).toContain('Sketchpad');
    expect(page.headers['content-security-policy']).toMatch(/script-src 'nonce-/);
  });

  it('refuses a foreign Host even with the token (DNS rebinding, 421)', async () => {
    const r = await request('GET', '/', { ...cookie(), host: `evil.example:${port}` });
    expect(r.status).toBe(421);
    expect((await request('GET', '/api/status', { ...cookie(), host: 'localhost:1' })).status).toBe(
      421,
    );
  });

  it('refuses a request from another site (foreign Origin, 403) and changes nothing', async () => {
    const r = await post('/api/install', 'Notepad', { origin: 'https://evil.example' });
    expect(r.status).toBe(403);
    const cross = await post('/api/install', 'Notepad', { 'sec-fetch-site': 'cross-site' });
    expect(cross.status).toBe(403);
    expect(await selfServe()).toEqual({});
  });

  it('never changes state on a GET (405)', async () => {
    const r = await request('GET', '/api/install?name=Notepad', cookie());
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe('POST');
    expect(await selfServe()).toEqual({});
  });

  it('needs the token in a header for a change: the cookie alone is not enough (403)', async () => {
    const r = await post('/api/install', 'Notepad', { 'x-abbot-token': '' });
    expect(r.status).toBe(403);
    expect(await selfServe()).toEqual({});
  });

  it('refuses a body that is not JSON (415)', async () => {
    const r = await post('/api/install', 'Notepad', { 'content-type': 'text/plain' });
    expect(r.status).toBe(415);
  });

  it.each(['Firefox', '../../etc/passwd', '/Applications/Sketchpad.app', 'Sketchpad--0.1'])(
    'refuses %s, which is not among optional_installs (403)',
    async (name) => {
      const r = await post('/api/install', name);
      expect(r.status).toBe(403);
      expect(JSON.parse(r.text).error).toContain('not offered');
      expect(await selfServe()).toEqual({});
    },
  );

  it('treats a name full of shell metacharacters as data', async () => {
    const r = await post('/api/install', ODD_NAME);
    expect(r.status).toBe(202);
    await waitFor(ODD_NAME, 'installed');
    expect((await selfServe())['managed_installs']).toEqual([ODD_NAME]);
    for (const dir of [process.cwd(), world.root, world.platform.paths.stateDir]) {
      expect(existsSync(join(dir, 'PWNED'))).toBe(false);
      expect(existsSync(join(dir, 'PWNED2'))).toBe(false);
    }
  });
});

describe('self-service install and remove', () => {
  it('installs an optional package at once, without installing anything else', async () => {
    expect((await statusOf('Sketchpad'))?.buttons).toEqual([
      { action: 'install', label: 'Install' },
    ]);
    runs.length = 0;
    const r = await post('/api/install', 'Sketchpad');
    expect(r.status).toBe(202);
    // While the run is under way the item has no buttons: a second click is refused.
    expect((await post('/api/install', 'Sketchpad')).status).toBe(409);
    await waitFor('Sketchpad', 'installed');
    expect(runs).toEqual([['Sketchpad']]);
    const receipt = await sketchpadReceipt(world.root);
    expect(receipt?.['PackageVersion']).toBe('1.0');
    expect((await selfServe())['managed_installs']).toContain('Sketchpad');
    // Notepad was never asked for, so it was not installed.
    expect((await statusOf('Notepad'))?.kind).toBe('not-installed');
  });

  it('removes it again on Remove', async () => {
    expect((await statusOf('Sketchpad'))?.buttons.map((b) => b.action)).toEqual(['remove']);
    expect((await post('/api/remove', 'Sketchpad')).status).toBe(202);
    await waitFor('Sketchpad', 'not-installed');
    expect(await sketchpadReceipt(world.root)).toBeUndefined();
    expect(existsSync(join(world.root, 'Applications/Sketchpad.app'))).toBe(false);
    const choices = await selfServe();
    expect(choices['managed_installs']).not.toContain('Sketchpad');
  });

  it('serves an icon that matches its hash, and not one that does not', async () => {
    const deadline = Date.now() + 10_000;
    let r = await request('GET', '/icons/Sketchpad.png', cookie());
    while (r.status !== 200 && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 100));
      r = await request('GET', '/icons/Sketchpad.png', cookie());
    }
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('image/png');
    expect(r.body.equals(world.icon)).toBe(true);
    expect((await request('GET', '/icons/Notepad.png', cookie())).status).toBe(404);
    expect((await request('GET', '/icons/Sketchpad.png')).status).toBe(403);
  });
});

describe('a request whose run cannot start', () => {
  it('shows the item as failed, with the reason, and offers to try again', async () => {
    const failing = await startSelfService({
      platform: world.platform,
      config: world.config,
      logger,
      port: 0,
      requestRun: () => Promise.reject(new Error('another run holds the lock')),
    });
    const saved = port;
    port = Number(new URL(failing.url).port);
    try {
      expect((await post('/api/install', 'Notepad')).status).toBe(202);
      const item = await waitFor('Notepad', 'failed');
      expect(item.text).toBe('Install failed: another run holds the lock');
      expect(item.buttons).toEqual([{ action: 'install', label: 'Install' }]);
    } finally {
      port = saved;
      await failing.close();
    }
  });
});

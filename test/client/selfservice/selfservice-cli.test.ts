/** `abbot selfservice list|add|remove|url|open` under --root, against a repo served over HTTPS. */
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { abbotCli } from '../../helpers/cli.js';
import { selfServeManifestPath } from '../../../client/selfservice/self-serve-manifest.js';
import { tokenPath } from '../../../client/selfservice/token.js';
import { makeSelfServiceWorld, type SelfServiceWorld } from './fixture.js';

let world: SelfServiceWorld;
const abbot = (...args: string[]) => abbotCli([...args, '--root', world.root]);

beforeAll(async () => {
  world = await makeSelfServiceWorld();
  expect((await abbot('check')).code).toBe(0);
});
afterAll(() => world?.cleanup());

describe('abbot selfservice', () => {
  it('lists the optional items with their status', async () => {
    const r = await abbot('selfservice', 'list');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^NAME\s+VERSION\s+STATUS\s+DISPLAY NAME$/);
    expect(r.stdout).toMatch(/Sketchpad\s+1\.0\s+Not installed\s+Sketchpad/);
    const json = JSON.parse((await abbot('selfservice', 'list', '--json')).stdout);
    expect(json.offers.map((o: { name: string }) => o.name)).toContain('Sketchpad');
  });

  it('refuses a name the manifest does not offer: exit 2, nothing written', async () => {
    const r = await abbot('selfservice', 'add', 'Firefox');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^abbot: Firefox is not offered in self service/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(selfServeManifestPath(world.platform.paths))).toBe(false);
  });

  it('refuses removing what is not installed and cannot be cancelled: exit 2', async () => {
    const r = await abbot('selfservice', 'remove', 'Sketchpad');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Sketchpad cannot be removed now \(Not installed\)/);
  });

  it('installs an item now with add, and removes it with remove', async () => {
    const added = await abbot('selfservice', 'add', 'Sketchpad');
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    expect(existsSync(join(world.root, 'Applications/Sketchpad.app/Contents/Info.plist'))).toBe(
      true,
    );
    expect(existsSync(join(world.root, 'var/db/receipts/org.example.sketchpad.plist'))).toBe(true);
    expect((await abbot('selfservice', 'list')).stdout).toMatch(/Sketchpad\s+1\.0\s+Installed/);

    const removed = await abbot('selfservice', 'remove', 'Sketchpad');
    expect(removed.code).toBe(0);
    expect(existsSync(join(world.root, 'Applications/Sketchpad.app'))).toBe(false);
    expect((await abbot('selfservice', 'list')).stdout).toMatch(/Sketchpad\s+1\.0\s+Not installed/);
  });

  it('prints the page address with the console user’s token, kept 0600', async () => {
    const r = await abbot('selfservice', 'url');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^http:\/\/127\.0\.0\.1:8491\/\?token=[0-9a-f]{64}\n$/);
    const info = await stat(tokenPath(world.platform.paths, 'alice'));
    expect(info.mode & 0o777).toBe(0o600);
    // `open` in the sandbox prints the same address instead of starting a browser.
    expect((await abbot('selfservice', 'open')).stdout).toBe(r.stdout);
  });

  it.each([
    [[], /selfservice needs list, add NAME, remove NAME, url or open/],
    [['add'], /selfservice add needs the item's NAME/],
    [['frobnicate'], /unknown selfservice command "frobnicate"/],
  ])('exits 2 on a usage mistake: %j', async (args, message) => {
    const r = await abbot('selfservice', ...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});

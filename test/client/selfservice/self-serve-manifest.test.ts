/** Writing the user's choices to Munki's SelfServeManifest. */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildPlist, parsePlist } from '../../../formats/index.js';
import {
  chooseInstall,
  chooseRemoval,
  readSelfServeManifest,
  selfServeManifestPath,
} from '../../../client/selfservice/self-serve-manifest.js';

let dir: string;
let paths: { manifestsDir: string };
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'abbot-ssm-'));
  paths = { manifestsDir: join(dir, 'manifests') };
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const onDisk = async (): Promise<unknown> =>
  parsePlist(await readFile(selfServeManifestPath(paths)));

describe('SelfServeManifest', () => {
  it('creates the manifest on the first choice, as Munki writes it', async () => {
    await chooseInstall(paths, 'Firefox');
    expect(await onDisk()).toEqual({ managed_installs: ['Firefox'], managed_uninstalls: [] });
  });

  it('moves a name between installs and uninstalls (subscribe / unsubscribe)', async () => {
    await chooseInstall(paths, 'Firefox');
    await chooseInstall(paths, 'Slack');
    await chooseRemoval(paths, 'Firefox');
    expect(await onDisk()).toEqual({
      managed_installs: ['Slack'],
      managed_uninstalls: ['Firefox'],
    });
    await chooseInstall(paths, 'Firefox');
    expect(await onDisk()).toEqual({
      managed_installs: ['Slack', 'Firefox'],
      managed_uninstalls: [],
    });
  });

  it('keeps default_installs, so a default the user removed is never added back', async () => {
    await mkdir(paths.manifestsDir, { recursive: true });
    await writeFile(
      selfServeManifestPath(paths),
      buildPlist({ default_installs: ['Chrome'], managed_installs: ['Chrome'] }),
    );
    await chooseRemoval(paths, 'Chrome');
    expect(await onDisk()).toEqual({
      default_installs: ['Chrome'],
      managed_installs: [],
      managed_uninstalls: ['Chrome'],
    });
  });

  it('refuses a malformed manifest, naming it, and leaves it as it was', async () => {
    await mkdir(paths.manifestsDir, { recursive: true });
    await writeFile(selfServeManifestPath(paths), '<plist><dict><key>x</dict>');
    await expect(chooseInstall(paths, 'Firefox')).rejects.toThrow(/SelfServeManifest/);
    expect(await readFile(selfServeManifestPath(paths), 'utf8')).toBe('<plist><dict><key>x</dict>');
  });

  it('reads a missing manifest as empty', async () => {
    expect(await readSelfServeManifest(paths)).toEqual({});
  });
});

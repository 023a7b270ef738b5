/**
 * What the daemon and bootstrap tests share: a repo built by the test (a real flat package and
 * nopkg items with real scripts) served over loopback HTTPS, a sandbox root pointed at it, and the
 * daemon started in-process with its runs as child `abbot` processes from this source tree.
 */
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { loadConfig } from '../../../client/config.js';
import { startDaemon, type Daemon } from '../../../client/daemon/daemon.js';
import { sandboxPlatform } from '../../../client/platform/sandbox/sandbox-platform.js';
import type { PlistValue } from '../../../formats/index.js';
import { memoryLogger, type Logger } from '../../../lib/log.js';
import { makeCatalogs } from '../../../repo-tools/commands/makecatalogs.js';
import { buildFlatPackage } from '../../helpers/flat-package.js';
import { startTestServer, type TestServer } from '../../helpers/https-server.js';
import { makeRepo } from '../../helpers/make-repo.js';
import { makeSandboxRoot, type SandboxSpec } from '../../helpers/sandbox-root.js';
import { abbotFromSource, type AbbotFromSource } from './abbot-from-source.js';

/** A nopkg item that is installed once its marker file exists under the root. */
export function markerItem(name: string, extra: Record<string, PlistValue> = {}) {
  const marker = `"$ABBOT_ROOT/Library/Example/${name}.done"`;
  return {
    name,
    version: '1.0',
    catalogs: ['production'],
    installer_type: 'nopkg',
    installcheck_script: `#!/bin/sh\ntest -f ${marker} && exit 1\nexit 0\n`,
    postinstall_script: `#!/bin/sh\nmkdir -p "$ABBOT_ROOT/Library/Example"\ntouch ${marker}\n`,
    ...extra,
  };
}

/** The repo every test uses: BaseApp (a flat package), Settings, Driver (needs a restart), Broken. */
export async function makeBootstrapRepo(manifests: Record<string, string[]>): Promise<string> {
  const pkg = await buildFlatPackage({
    kind: 'component',
    identifier: 'org.example.baseapp',
    version: '1.0',
    installLocation: '/',
    files: [{ path: 'Applications/BaseApp/readme.txt', contents: 'BaseApp 1.0\n' }],
  });
  const repo = await makeRepo({
    pkgs: { 'BaseApp-1.0.pkg': pkg },
    pkgsinfo: {
      'BaseApp-1.0.plist': {
        name: 'BaseApp',
        version: '1.0',
        catalogs: ['production'],
        installer_item_location: 'BaseApp-1.0.pkg',
        installer_item_hash: createHash('sha256').update(pkg).digest('hex'),
        installer_item_size: Math.max(1, Math.floor(pkg.length / 1024)),
        receipts: [{ packageid: 'org.example.baseapp', version: '1.0' }],
      },
      'Settings-1.0.plist': markerItem('Settings'),
      'Driver-1.0.plist': markerItem('Driver', { RestartAction: 'RequireRestart' }),
      'Broken-1.0.plist': markerItem('Broken', {
        preinstall_script: '#!/bin/sh\necho "license server unreachable" >&2\nexit 1\n',
      }),
    },
    manifests: Object.fromEntries(
      Object.entries(manifests).map(([name, items]) => [
        name,
        { catalogs: ['production'], managed_installs: items },
      ]),
    ),
  });
  await makeCatalogs({ repo, logger: memoryLogger(), cache: false });
  return repo;
}

/** A served repo and a sandbox root that checks in with it. */
export interface DaemonSandbox {
  root: string;
  server: TestServer;
  /** Starts a daemon on the sandbox (self service off), runs as `abbotCommand` children. */
  start(options?: { runTimeLimitMs?: number; logger?: Logger }): Promise<Daemon>;
  remove(): Promise<void>;
}

/** Serves `repo` and makes a sandbox whose ClientIdentifier is `manifest`. */
export async function daemonSandbox(
  repo: string,
  manifest: string,
  abbotCommand: readonly string[],
  spec: SandboxSpec = {},
  prefs: Record<string, PlistValue> = {},
): Promise<DaemonSandbox> {
  const server = await startTestServer({ root: repo });
  const root = await makeSandboxRoot({
    ...spec,
    preferences: {
      SoftwareRepoURL: server.url,
      SoftwareRepoCACertificate: server.pki.caCert,
      ClientIdentifier: manifest,
      HttpRetries: 0,
      ...prefs,
    },
  });
  return {
    root,
    server,
    async start(options = {}) {
      const platform = sandboxPlatform(root);
      const config = await loadConfig({ paths: platform.paths });
      return startDaemon({
        platform,
        config,
        logger: options.logger ?? memoryLogger(),
        abbotCommand,
        runArgs: [`--root=${root}`],
        selfService: false,
        ...(options.runTimeLimitMs ? { runTimeLimitMs: options.runTimeLimitMs } : {}),
        networkWaitMs: 5_000,
      });
    },
    async remove() {
      await server.stop();
      await rm(root, { recursive: true, force: true });
      await rm(repo, { recursive: true, force: true });
    },
  };
}

/** What a test file gets from {@link useDaemonSandboxes}. */
export interface DaemonSandboxes {
  /** A sandbox checking in with a fresh bootstrap repo whose manifests are `manifests`. */
  sandbox(
    manifests: Record<string, string[]>,
    manifest: string,
    spec?: SandboxSpec,
    prefs?: Record<string, PlistValue>,
  ): Promise<DaemonSandbox>;
  /** Starts a daemon on `sandbox`, stopped after the test if it is still running. */
  start(sandbox: DaemonSandbox): Promise<Daemon>;
  /** Stops a daemon (as a reboot or `launchctl bootout` would). */
  stop(daemon: Daemon): Promise<void>;
  /** The argv that starts the transpiled `abbot` CLI. */
  abbotCommand(): string[];
}

/**
 * Registers the hooks a daemon test file needs: the client transpiled once for the file, and
 * every sandbox and daemon a test made cleaned up after it.
 */
export function useDaemonSandboxes(): DaemonSandboxes {
  let abbot: AbbotFromSource | undefined;
  const sandboxes: DaemonSandbox[] = [];
  const daemons: Daemon[] = [];
  beforeAll(async () => {
    abbot = await abbotFromSource();
  });
  afterAll(async () => {
    await abbot?.remove();
  });
  afterEach(async () => {
    for (const d of daemons.splice(0)) await d.close();
    for (const s of sandboxes.splice(0)) await s.remove();
  });
  return {
    async sandbox(manifests, manifest, spec = {}, prefs = {}) {
      if (abbot === undefined) throw new Error('useDaemonSandboxes: beforeAll has not run');
      const repo = await makeBootstrapRepo(manifests);
      const s = await daemonSandbox(repo, manifest, abbot.command, spec, prefs);
      sandboxes.push(s);
      return s;
    },
    async start(sandbox) {
      const daemon = await sandbox.start();
      daemons.push(daemon);
      return daemon;
    },
    async stop(daemon) {
      await daemon.close();
      daemons.splice(daemons.indexOf(daemon), 1);
    },
    abbotCommand() {
      if (abbot === undefined) throw new Error('useDaemonSandboxes: beforeAll has not run');
      return abbot.command;
    },
  };
}

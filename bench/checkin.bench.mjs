// A no-op hourly check-in: nothing changed on the server and everything already installed, against
// a 20,000-item catalog and a 60-item manifest tree. Times the whole `abbot check` process and
// counts the bytes on the wire (TLS handshake included) at the server's sockets.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { generateRepo } from './gen-repo.mjs';
import { figure, timeCommand } from './lib.mjs';
import { makePki, serveStatic } from './https-server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const work = join(here, '.work');
const repo = join(work, 'makecatalogs-repo');
const abbot = join(here, '..', 'bin', 'abbot');
const repoBin = join(here, '..', 'bin', 'repo');
const { buildPlist, buildBinaryPlist } = await import('../dist/formats/index.js');

mkdirSync(work, { recursive: true });
generateRepo(repo, 20_000);
timeCommand(process.execPath, [repoBin, 'makecatalogs', repo, '--quiet'], {
  env: { ...process.env, ABBOT_CACHE_DIR: join(work, 'cache') },
});

// A 60-item tree: the primary manifest and two included ones, 20 items each.
const apps = (from) => Array.from({ length: 20 }, (_, i) => `App${from + i * 7}`);
const put = (path, value) => {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, typeof value === 'string' ? value : buildPlist(value));
};
put(join(repo, 'manifests', 'bench-mac'), {
  catalogs: ['testing'],
  included_manifests: ['bench/group-a', 'bench/group-b'],
  managed_installs: apps(0),
});
put(join(repo, 'manifests', 'bench', 'group-a'), { managed_installs: apps(1) });
put(join(repo, 'manifests', 'bench', 'group-b'), { managed_installs: apps(2) });

const pki = makePki();
const server = await serveStatic(repo, pki);
const root = mkdtempSync(join(tmpdir(), 'abbot-bench-root-'));
put(join(root, 'System/Library/CoreServices/SystemVersion.plist'), {
  ProductVersion: '14.5',
  ProductBuildVersion: '23F79',
});
put(join(root, 'Library/Abbot/machine.plist'), {
  arch: 'arm64',
  serial_number: 'BENCH0001',
  hostname: 'bench-mac.example.com',
});
put(join(root, 'Library/Preferences/org.abbot.client.plist'), {
  SoftwareRepoURL: server.url,
  SoftwareRepoCACertificate: pki.ca,
});

function check(json) {
  return new Promise((resolve, reject) => {
    const args = [
      abbot,
      'check',
      '--root',
      root,
      '--client-id',
      'bench-mac',
      json ? '--json' : '--quiet',
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const start = process.hrtime.bigint();
    child.on('exit', (code) => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      if (code !== 0) reject(new Error(`abbot check exited ${code}: ${err}`));
      else resolve({ seconds, out });
    });
  });
}

try {
  // First check: learn what would be installed, then make the sandbox look installed.
  const first = JSON.parse((await check(true)).out);
  if (first.installs.length !== 60)
    throw new Error(`expected 60 installs, got ${first.installs.length}`);
  for (const item of first.installs) {
    const version = item.version_to_install;
    put(join(root, 'Applications', `${item.name}.app`, 'Contents', 'Info.plist'), {
      CFBundleIdentifier: `com.example.${item.name.toLowerCase()}`,
      CFBundleName: item.name,
      CFBundleShortVersionString: version,
    });
    put(join(root, 'var/db/receipts', `com.example.${item.name.toLowerCase()}.pkg.plist`), '');
    writeFileSync(
      join(root, 'var/db/receipts', `com.example.${item.name.toLowerCase()}.pkg.plist`),
      buildBinaryPlist({
        PackageIdentifier: `com.example.${item.name.toLowerCase()}.pkg`,
        PackageVersion: version,
        InstallPrefixPath: '/',
        InstallDate: new Date(),
      }),
    );
  }
  const second = JSON.parse((await check(true)).out);
  if (second.installs.length !== 0)
    throw new Error(`still ${second.installs.length} to install after installing`);

  const times = [];
  const bytes = [];
  const connections = [];
  for (let i = 0; i < 7; i++) {
    const before = server.bytes();
    const beforeConnections = server.connections();
    times.push((await check(false)).seconds);
    bytes.push(server.bytes() - before);
    connections.push(server.connections() - beforeConnections);
  }
  times.sort((a, b) => a - b);
  figure('checkin.catalog_items', 20_000, 'items', 'catalog testing, 20,000 pkginfos');
  figure('checkin.manifest_items', 60, 'items', '3 manifests, everything installed');
  figure(
    'checkin.noop_s',
    times[Math.floor(times.length / 2)],
    's',
    `median of ${times.length} whole \`abbot check\` processes (best ${times[0].toFixed(3)} s); goal < 0.5 s`,
  );
  figure(
    'checkin.noop_connections',
    Math.max(...connections),
    'connections',
    'TLS connections per check',
  );
  figure(
    'checkin.noop_bytes',
    Math.max(...bytes),
    'bytes',
    'sent + received per check, TLS handshake included; goal < 5000',
  );
} finally {
  await server.close();
  pki.cleanup();
  rmSync(root, { recursive: true, force: true });
}

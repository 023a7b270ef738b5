// The README's first command: rebuild the example repo's catalogs, serve it over HTTPS on localhost
// (a CA generated for this run), and run a real `abbot check` into a temporary sandbox root.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makePki, serveStatic } from '../bench/https-server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, 'repo');
const bin = (name) => join(here, '..', 'bin', name);
const { buildPlist } = await import('../dist/formats/index.js');

// Asynchronous on purpose: the HTTPS server runs in this process and must keep answering.
async function run(title, argv) {
  console.log(`\n$ ${title}`);
  const child = spawn(process.execPath, argv, { stdio: 'inherit' });
  const code = await new Promise((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`${title} exited with ${code}`);
}

await run('repo makecatalogs examples/repo', [bin('repo'), 'makecatalogs', repo]);

const pki = makePki();
const server = await serveStatic(repo, pki);
const root = mkdtempSync(join(tmpdir(), 'abbot-demo-'));
try {
  // The sandbox root stands in for / on a Mac: OS version, machine facts and preferences.
  const put = (path, value) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), buildPlist(value));
  };
  put('System/Library/CoreServices/SystemVersion.plist', { ProductVersion: '14.5', ProductBuildVersion: '23F79' });
  put('Library/Abbot/machine.plist', { arch: 'arm64', machine_type: 'laptop', serial_number: 'DEMO0001', hostname: 'demo-mac' });
  put('Library/Preferences/org.abbot.client.plist', { SoftwareRepoURL: server.url, SoftwareRepoCACertificate: pki.ca });
  console.log(`\nServing examples/repo at ${server.url} (CA: ${pki.ca})`);
  await run(`abbot check --root ${root} --client-id demo-mac`, [
    bin('abbot'),
    'check',
    '--root',
    root,
    '--client-id',
    'demo-mac',
  ]);
  console.log(`\nThe plan was written to ${join(root, 'Library/Abbot/InstallInfo.plist')} (removed now).`);
} finally {
  await server.close();
  pki.cleanup();
  rmSync(root, { recursive: true, force: true });
}

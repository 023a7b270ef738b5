// The README's first command: rebuild the example repo's catalogs, serve it over HTTPS on localhost
// (a CA generated for this run), and run a real check-in and install (`abbot run --auto`) into a
// temporary sandbox root; then show what was installed, where, with the receipts.
import { spawn } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makePki, serveStatic } from '../bench/https-server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, 'repo');
const bin = (name) => join(here, '..', 'bin', name);
const { buildPlist, parsePlist } = await import('../dist/formats/index.js');

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
  put('System/Library/CoreServices/SystemVersion.plist', {
    ProductVersion: '14.5',
    ProductBuildVersion: '23F79',
  });
  put('Library/Abbot/machine.plist', {
    arch: 'arm64',
    machine_type: 'laptop',
    serial_number: 'DEMO0001',
    hostname: 'demo-mac',
  });
  put('Library/Preferences/org.abbot.client.plist', {
    SoftwareRepoURL: server.url,
    SoftwareRepoCACertificate: pki.ca,
  });
  console.log(`\nServing examples/repo at ${server.url} (CA: ${pki.ca})`);
  await run(`abbot run --auto --root ${root} --client-id demo-mac`, [
    bin('abbot'),
    'run',
    '--auto',
    '--root',
    root,
    '--client-id',
    'demo-mac',
  ]);

  // What landed under the sandbox root, outside Abbot's own state folder.
  const files = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, e.name);
      const rel = '/' + relative(root, full);
      if (
        rel.startsWith('/Library/Abbot/') ||
        rel === '/Library/Preferences/org.abbot.client.plist' ||
        rel.startsWith('/System/')
      )
        continue;
      if (e.isDirectory()) walk(full);
      else files.push(`${rel}${e.isSymbolicLink() ? '' : `  (${statSync(full).size} bytes)`}`);
    }
  };
  walk(root);
  console.log('\nInstalled files (under the sandbox root):');
  for (const f of files.sort()) console.log(`  ${f}`);
  console.log('\nReceipts (var/db/receipts, as pkgutil writes them):');
  const receipts = join(root, 'var/db/receipts');
  for (const name of readdirSync(receipts)
    .filter((n) => n.endsWith('.plist') && !n.endsWith('.paths.plist'))
    .sort()) {
    const r = parsePlist(readFileSync(join(receipts, name)));
    console.log(
      `  ${r.PackageIdentifier} ${r.PackageVersion}  installed at /${String(r.InstallPrefixPath).replace(/^\/+/, '')}`,
    );
  }
  await run(`abbot status --root ${root}`, [bin('abbot'), 'status', '--root', root]);
  console.log(`\nThe sandbox root ${root} is removed now.`);
} finally {
  await server.close();
  pki.cleanup();
  rmSync(root, { recursive: true, force: true });
}

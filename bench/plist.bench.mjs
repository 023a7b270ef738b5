// Times the XML plist codec on a ~50 MB Munki-catalog-like document generated in memory.
// Prints `plist.parse.50MB_ms N` and `plist.build.50MB_ms N` (best of several runs, milliseconds).
// Run after `npm run build`; ABBOT_FORMATS may point at another compiled formats/index.js.
import { pathToFileURL } from 'node:url';

const modulePath = process.env.ABBOT_FORMATS
  ? pathToFileURL(process.env.ABBOT_FORMATS).href
  : new URL('../dist/formats/index.js', import.meta.url).href;
const { parsePlist, buildPlist, buildPlistFragment } = await import(modulePath);

const RUNS = 5;
// A realistic item (1 KB description, 1 KB escaped script, installs, receipts) is ~4.6 KB of
// XML, so 50 MB holds ~10,800 pkginfo dicts (~43,000 dicts counting nested ones).
const ITEMS = 10_800;

/** Deterministic pseudo-random text so every run measures the same bytes. */
let seed = 42;
function rand(n) {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % n;
}
const WORDS = ['install', 'Firefox', 'update', 'Å', 'security', 'preferences', 'the', 'and', 'mac'];
function prose(chars) {
  let s = '';
  while (s.length < chars) s += WORDS[rand(WORDS.length)] + ' ';
  return s;
}
function script(chars) {
  // Shell with characters that need escaping: `&&`, redirections, comparisons.
  let s = '#!/bin/sh\n';
  while (s.length < chars) {
    s += `if [ "$x" -lt ${rand(100)} ] && [ -d "/Library/App${rand(9)}" ]; then echo ok > /dev/null 2>&1; fi\n`;
  }
  return s;
}

function pkginfo(i) {
  const version = `${rand(30)}.${rand(10)}.${rand(100)}`;
  return {
    _metadata: { created_by: 'admin', munki_version: '6.3.1', os_version: '13.4' },
    autoremove: false,
    catalogs: ['testing', 'production'],
    category: 'Productivity',
    description: prose(1000),
    developer: 'Example Corp',
    display_name: `Item ${i}`,
    installed_size: 100000 + rand(1000000),
    installer_item_hash: 'ab'.repeat(32),
    installer_item_location: `apps/item${i}/Item${i}-${version}.dmg`,
    installer_item_size: 20000 + rand(900000),
    installer_type: 'copy_from_dmg',
    installs: [
      {
        CFBundleIdentifier: `com.example.item${i}`,
        CFBundleName: `Item ${i}`,
        CFBundleShortVersionString: version,
        CFBundleVersion: version,
        minosversion: '10.15',
        path: `/Applications/Item ${i}.app`,
        type: 'application',
        version_comparison_key: 'CFBundleShortVersionString',
      },
    ],
    minimum_os_version: '10.15',
    name: `Item${i}`,
    postinstall_script: script(1000),
    receipts: [
      { installed_size: rand(100000), packageid: `com.example.item${i}.pkg`, version },
      {
        installed_size: rand(100000),
        packageid: `com.example.item${i}.helper`,
        version,
        optional: true,
      },
    ],
    unattended_install: true,
    uninstall_method: 'remove_copied_items',
    uninstallable: true,
    version,
  };
}

const catalog = Array.from({ length: ITEMS }, (_, i) => pkginfo(i));
const xml = buildPlist(catalog);
const bytes = new TextEncoder().encode(xml);
const mb = bytes.length / 1e6;
// Scaled to exactly 50 MB so the figure stays comparable if the generator changes.
const scale = 50 / mb;

function best(fn) {
  let min = Infinity;
  for (let r = 0; r < RUNS; r++) {
    const t = performance.now();
    fn();
    min = Math.min(min, performance.now() - t);
  }
  return min;
}

const parsed = parsePlist(bytes);
if (!Array.isArray(parsed) || parsed.length !== ITEMS) throw new Error('parse check failed');
const parseMs = best(() => parsePlist(bytes));
const buildMs = best(() => buildPlist(parsed));
// makecatalogs' path: one fragment per pkginfo, concatenated inside <array>.
const fragmentMs = best(() => parsed.map((p) => buildPlistFragment(p, 1)).join(''));

console.error(`# document ${mb.toFixed(1)} MB, ${ITEMS} items; best of ${RUNS}, scaled to 50 MB`);
console.log(`plist.parse.50MB_ms ${Math.round(parseMs * scale)}`);
console.log(`plist.build.50MB_ms ${Math.round(buildMs * scale)}`);
console.log(`plist.build_fragments.50MB_ms ${Math.round(fragmentMs * scale)}`);

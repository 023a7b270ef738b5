// makecatalogs on a 20,000-pkginfo (~50 MB) repo: a cold run (no cache), a run with one pkginfo
// changed, and an unchanged run, each timed as a whole `repo makecatalogs` process; plus a plain
// Python/plistlib makecatalogs on the same repo in the same run, for scale (Munki 6's own tool is
// Python over the same kind of parsing and does not run on Linux).
import {
  rmSync,
  writeFileSync,
  mkdirSync,
  statSync,
  existsSync,
  readdirSync,
  readFileSync,
} from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { spawnSync } from 'node:child_process';
import { generateRepo, pkginfoXml } from './gen-repo.mjs';
import { timeCommand, figure, bestOf } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const work = join(here, '.work');
const repo = join(work, 'makecatalogs-repo');
const cacheDir = join(work, 'cache');
const bin = join(here, '..', 'bin', 'repo');
const COUNT = 20_000;

mkdirSync(work, { recursive: true });
generateRepo(repo, COUNT);
// Every file under pkgsinfo/: its size here, and the stat floor below times one stat of each.
const pkginfoPaths = [];
const collect = (d) => {
  for (const e of readdirSync(d, { withFileTypes: true })) {
    if (e.isDirectory()) collect(join(d, e.name));
    else pkginfoPaths.push(join(d, e.name));
  }
};
collect(join(repo, 'pkgsinfo'));
const bytes = pkginfoPaths.reduce((n, path) => n + statSync(path).size, 0);
figure('makecatalogs.repo_pkginfos', COUNT, 'files', `${(bytes / 1e6).toFixed(1)} MB of pkginfo`);

const env = { ...process.env, ABBOT_CACHE_DIR: cacheDir };
const run = () =>
  timeCommand(process.execPath, [bin, 'makecatalogs', repo, '--quiet'], { env }).seconds;

const cold = bestOf(3, () => {
  rmSync(cacheDir, { recursive: true, force: true });
  rmSync(join(repo, 'catalogs'), { recursive: true, force: true });
  return run();
});
figure('makecatalogs.cold_s', cold, 's', 'no cache, catalogs written from scratch; best of 3');

const target = join(repo, 'pkgsinfo', 'apps', 'App7', 'App7-1.0.0.plist');
let edits = 0;
const oneChanged = bestOf(3, () => {
  writeFileSync(target, pkginfoXml(70, ` edit ${++edits}`));
  return run();
});
figure(
  'makecatalogs.one_changed_s',
  oneChanged,
  's',
  'one pkginfo edited since the last run; best of 3',
);

const unchanged = bestOf(3, run);
figure('makecatalogs.unchanged_s', unchanged, 's', 'nothing changed; best of 3');

// What no implementation can go below on this machine for the one-changed run: starting Node, and
// durably replacing the catalogs that one edit touches (temp file, fsync, rename over the old one,
// folder fsync: the same writeFileAtomic makecatalogs uses), timed on copies of those catalogs.
const startup = bestOf(3, () => timeCommand(process.execPath, ['-e', '0']).seconds);
figure('makecatalogs.floor_node_start_s', startup, 's', 'node -e 0; best of 3');
const { writeFileAtomic } = await import(
  pathToFileURL(join(here, '..', 'dist', 'lib', 'atomic-write.js')).href
);
// The catalogs holding the edited item are the ones its edit rewrites.
const touched = readdirSync(join(repo, 'catalogs'))
  .map((n) => readFileSync(join(repo, 'catalogs', n)))
  .filter((bytes) => bytes.includes(`edit ${edits}`));
const scratch = join(work, 'floor-catalogs');
rmSync(scratch, { recursive: true, force: true });
mkdirSync(scratch, { recursive: true });
const replaceAll = async () => {
  const start = process.hrtime.bigint();
  for (const [i, bytes] of touched.entries()) await writeFileAtomic(join(scratch, `c${i}`), bytes);
  return Number(process.hrtime.bigint() - start) / 1e9;
};
await replaceAll(); // so that the timed rounds replace existing files, as a one-changed run does
let replaceFloor = Infinity;
for (let i = 0; i < 3; i++) replaceFloor = Math.min(replaceFloor, await replaceAll());
rmSync(scratch, { recursive: true, force: true });
const touchedMb = touched.reduce((n, b) => n + b.length, 0) / 1e6;
figure(
  'makecatalogs.floor_replace_touched_catalogs_s',
  replaceFloor,
  's',
  `durably replacing the ${touchedMb.toFixed(0)} MB of catalogs one edit rewrites; best of 3`,
);
// Finding the one edit means looking at every file: one stat each, as git and rsync do.
const statFloor = bestOf(3, () => {
  const start = process.hrtime.bigint();
  for (const path of pkginfoPaths) statSync(path);
  return Number(process.hrtime.bigint() - start) / 1e9;
});
figure(
  'makecatalogs.floor_stat_every_pkginfo_s',
  statFloor,
  's',
  `one stat per pkginfo (${pkginfoPaths.length}), on one thread; best of 3`,
);
figure(
  'makecatalogs.floor_one_changed_s',
  startup + statFloor + replaceFloor,
  's',
  'node start + stat of every pkginfo + that replacement: the least a one-changed run can take here (goal < 0.3)',
);

const python = spawnSync('python3', ['--version']);
if (python.status === 0) {
  const copy = join(work, 'python-catalogs');
  rmSync(copy, { recursive: true, force: true });
  const ref = timeCommand('python3', [
    join(here, 'reference', 'makecatalogs_plistlib.py'),
    repo,
  ]).seconds;
  figure(
    'makecatalogs.python_plistlib_reference_s',
    ref,
    's',
    'same repo, plain Python plistlib makecatalogs',
  );
  figure('makecatalogs.speedup_vs_python', ref / cold, 'x', 'cold run');
  // The reference wrote its own catalogs; rebuild ours so the repo is left as makecatalogs makes it.
  run();
}
if (!existsSync(join(repo, 'catalogs', 'all'))) throw new Error('catalogs/all was not written');

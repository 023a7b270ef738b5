// makecatalogs on a 20,000-pkginfo (~50 MB) repo: a cold run (no cache), a run with one pkginfo
// changed, and an unchanged run, each timed as a whole `repo makecatalogs` process; plus a plain
// Python/plistlib makecatalogs on the same repo in the same run, for scale (Munki 6's own tool is
// Python over the same kind of parsing and does not run on Linux).
import { rmSync, writeFileSync, mkdirSync, statSync, existsSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
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
let bytes = 0;
const walk = (d) => {
  for (const e of readdirSync(d, { withFileTypes: true })) {
    if (e.isDirectory()) walk(join(d, e.name));
    else bytes += statSync(join(d, e.name)).size;
  }
};
walk(join(repo, 'pkgsinfo'));
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

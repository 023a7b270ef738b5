/**
 * `repo check`: lints a repo. Every pkginfo and manifest is validated against the schemas, conditions
 * are parsed with the client's parser, and references are cross-checked: requires/update_for and
 * manifest items that name nothing in the catalogs they would be looked up in, duplicate name+version
 * in one catalog, missing installer items, missing included manifests and include cycles.
 * One line per finding, naming the file; exit 1 if any error.
 */
import { readFile } from 'node:fs/promises';
import {
  buildCatalogs,
  catalogHas,
  indexCatalog,
  splitNameAndVersion,
  trimVersionString,
  validatePkgInfo,
  type CatalogDb,
} from '../../catalogs/index.js';
import { isPlistDict, parsePlist, type PlistDict, type PlistValue } from '../../formats/index.js';
import { describeError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { parseCondition, validateManifest } from '../../manifests/index.js';
import { assertRepo, listRepoFiles } from '../file-repo.js';

/** One thing `repo check` found. */
export interface CheckFinding {
  severity: 'error' | 'warning';
  file: string;
  message: string;
}

/** What `repo check` reports. */
export interface CheckResult {
  findings: CheckFinding[];
  pkginfos: number;
  manifests: number;
  exitCode: 0 | 1;
}

const MANIFEST_SECTIONS = [
  'managed_installs',
  'managed_uninstalls',
  'managed_updates',
  'optional_installs',
  'featured_items',
  'default_installs',
] as const;

function stringList(v: PlistValue | undefined): string[] {
  if (typeof v === 'string') return [v];
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];
}

/** Resolves a reference (`name`, `name-1.0`, `name--1.0`, with an optional path prefix) in `dbs`. */
function resolves(ref: string, dbs: readonly CatalogDb[]): boolean {
  const bare = ref.slice(ref.lastIndexOf('/') + 1);
  // The whole string first: an item may really be named `Tool-2`.
  if (dbs.some((db) => catalogHas(db, bare))) return true;
  const { name, version } = splitNameAndVersion(bare);
  return version !== '' && dbs.some((db) => catalogHas(db, name, version));
}

/** Validates a repo and returns every finding; findings are also logged one line each. */
export async function checkRepo(options: { repo: string; logger: Logger }): Promise<CheckResult> {
  const { repo, logger } = options;
  assertRepo(repo, ['pkgsinfo']);
  const findings: CheckFinding[] = [];
  const add = (severity: CheckFinding['severity'], file: string, message: string): void => {
    findings.push({ severity, file, message });
  };

  // pkginfo files: parse, schema, conditions.
  const pkginfoFiles = listRepoFiles(repo, 'pkgsinfo');
  const parsed: { file: string; value: PlistValue }[] = [];
  for (const f of pkginfoFiles) {
    const where = `pkgsinfo/${f.path}`;
    let value: PlistValue;
    try {
      value = parsePlist(await readFile(f.fullPath), { source: where });
    } catch (e) {
      add('error', where, describeError(e));
      continue;
    }
    parsed.push({ file: f.path, value });
    for (const issue of validatePkgInfo(value)) {
      add(issue.severity, where, `${where}: ${issue.path ? `${issue.path} ` : ''}${issue.message}`);
    }
    const condition = isPlistDict(value) ? value['installable_condition'] : undefined;
    if (typeof condition === 'string') {
      try {
        parseCondition(condition);
      } catch (e) {
        add('error', where, `${where}: installable_condition: ${describeError(e)}`);
      }
    }
  }

  // Catalogs as makecatalogs would build them; its warnings become findings here.
  const pkgs = listRepoFiles(repo, 'pkgs').map((e) => e.path);
  const built = buildCatalogs(parsed, pkgs);
  for (const f of built.findings) {
    const missing = f.kind === 'missing-installer-item' || f.kind === 'invalid-installer-item';
    // `skipped` only restates the missing item for makecatalogs' sake.
    if (f.kind !== 'skipped') add(missing ? 'error' : 'warning', f.file, f.message);
  }
  const dbs = new Map<string, CatalogDb>();
  for (const [name, items] of built.catalogs) dbs.set(name, indexCatalog(items));

  // Duplicates: the same name and version twice in one catalog (the client would pick one at random).
  for (const [catalog, items] of built.catalogs) {
    if (catalog === 'all') continue;
    const seen = new Map<string, number>();
    for (const item of items) {
      const key = `${String(item['name'])}--${trimVersionString(String(item['version'] ?? ''))}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    for (const [key, count] of seen) {
      if (count > 1)
        add(
          'error',
          `catalogs/${catalog}`,
          `catalogs/${catalog}: ${key.replace('--', ' ')} appears ${count} times`,
        );
    }
  }

  // requires / update_for must name something in the item's own catalogs.
  for (const item of built.catalogs.get('all') ?? []) {
    const file = `pkgsinfo/${built.sources.get(item) ?? String(item['name'])}`;
    const own = stringList(item['catalogs'])
      .map((c) => dbs.get(c))
      .filter((d): d is CatalogDb => d !== undefined);
    const scope = own.length > 0 ? own : [dbs.get('all')!];
    for (const key of ['requires', 'update_for'] as const) {
      for (const ref of stringList(item[key])) {
        if (!resolves(ref, scope)) {
          add(
            'error',
            file,
            `${file}: ${key} "${ref}" names nothing in catalogs ${stringList(item['catalogs']).join(', ') || 'all'}`,
          );
        }
      }
    }
  }

  // Manifests.
  const manifestFiles = listRepoFiles(repo, 'manifests');
  const manifests = new Map<string, PlistDict>();
  for (const f of manifestFiles) {
    const where = `manifests/${f.path}`;
    let value: PlistValue;
    try {
      value = parsePlist(await readFile(f.fullPath), { source: where });
    } catch (e) {
      add('error', where, describeError(e));
      continue;
    }
    const issues = validateManifest(value);
    for (const issue of issues)
      add(issue.severity, where, `${where}: ${issue.path ? `${issue.path} ` : ''}${issue.message}`);
    if (isPlistDict(value)) manifests.set(f.path, value);
  }
  const included = new Set<string>();
  for (const m of manifests.values())
    for (const inc of stringList(m['included_manifests'])) included.add(inc);

  for (const [name, manifest] of manifests) {
    const where = `manifests/${name}`;
    checkIncludes(name, manifests, add);
    const own = stringList(manifest['catalogs']);
    if (own.length === 0 && !included.has(name)) {
      add(
        'warning',
        where,
        `${where}: has no catalogs; a client using it as its primary manifest fails its check`,
      );
    }
    checkManifestBody(where, manifest, own.length > 0 ? own : ['all'], dbs, add);
  }

  for (const f of findings) {
    const line = f.message.startsWith(f.file) ? f.message : `${f.file}: ${f.message}`;
    if (f.severity === 'error') logger.error('check.error', `ERROR: ${line}`);
    else logger.warn('check.warning', `WARNING: ${line}`);
  }
  const errors = findings.filter((f) => f.severity === 'error').length;
  logger.info(
    'check.summary',
    `Checked ${pkginfoFiles.length} pkginfo files and ${manifestFiles.length} manifests: ${errors} error${errors === 1 ? '' : 's'}, ${findings.length - errors} warning${findings.length - errors === 1 ? '' : 's'}`,
  );
  return {
    findings,
    pkginfos: pkginfoFiles.length,
    manifests: manifestFiles.length,
    exitCode: errors > 0 ? 1 : 0,
  };
}

type Add = (severity: CheckFinding['severity'], file: string, message: string) => void;

/** Reports missing included manifests and include cycles reachable from `start`. */
function checkIncludes(start: string, manifests: ReadonlyMap<string, PlistDict>, add: Add): void {
  const where = `manifests/${start}`;
  const stack: string[] = [];
  const visit = (name: string): void => {
    const cycleAt = stack.indexOf(name);
    if (cycleAt >= 0) {
      // Report each cycle once, from the manifest where it starts.
      if (cycleAt === 0)
        add('error', where, `${where}: included_manifests cycle: ${[...stack, name].join(' → ')}`);
      return;
    }
    const manifest = manifests.get(name);
    if (!manifest) return;
    stack.push(name);
    for (const inc of includesOf(manifest)) {
      if (!manifests.has(inc)) {
        if (name === start) add('error', where, `${where}: includes missing manifest "${inc}"`);
        continue;
      }
      visit(inc);
    }
    stack.pop();
  };
  visit(start);
}

function includesOf(manifest: PlistDict): string[] {
  const out = stringList(manifest['included_manifests']).filter((s) => s !== '');
  const conditional = manifest['conditional_items'];
  if (Array.isArray(conditional)) {
    for (const c of conditional) if (isPlistDict(c)) out.push(...includesOf(c));
  }
  return out;
}

function checkManifestBody(
  where: string,
  body: PlistDict,
  catalogs: string[],
  dbs: ReadonlyMap<string, CatalogDb>,
  add: Add,
): void {
  const scope = catalogs.map((c) => dbs.get(c)).filter((d): d is CatalogDb => d !== undefined);
  for (const c of catalogs) {
    if (!dbs.has(c)) add('warning', where, `${where}: catalog "${c}" does not exist in this repo`);
  }
  const optional = new Set(stringList(body['optional_installs']));
  for (const section of MANIFEST_SECTIONS) {
    for (const ref of stringList(body[section])) {
      if (!resolves(ref, scope)) {
        add(
          'error',
          where,
          `${where}: ${section} item "${ref}" is not in catalogs ${catalogs.join(', ')}`,
        );
      }
      if ((section === 'featured_items' || section === 'default_installs') && !optional.has(ref)) {
        add(
          'warning',
          where,
          `${where}: ${section} item "${ref}" is not in this manifest's optional_installs`,
        );
      }
    }
  }
  const conditional = body['conditional_items'];
  if (!Array.isArray(conditional)) return;
  conditional.forEach((c, i) => {
    if (!isPlistDict(c)) return;
    const condition = c['condition'];
    if (typeof condition !== 'string') {
      add('warning', where, `${where}: conditional_items[${i}] has no condition and is ignored`);
      return;
    }
    try {
      parseCondition(condition);
    } catch (e) {
      add('error', where, `${where}: conditional_items[${i}] condition: ${describeError(e)}`);
    }
    const own = stringList(c['catalogs']);
    checkManifestBody(where, c, own.length > 0 ? own : catalogs, dbs, add);
  });
}

/**
 * What `repo manifest show` prints: a manifest's keys as an indented outline, and with
 * `--resolved` the whole tree a client would walk (included manifests, conditional items, the
 * catalogs in force for each part) and every item it would consider. A server has no Mac's facts,
 * so conditions are shown, not evaluated: every conditional branch is listed under its condition.
 */
import { isPlistDict, type PlistDict, type PlistValue } from '../../formats/index.js';
import { describeError } from '../../lib/errors.js';
import { MANIFEST_SECTIONS, parseCondition, resolveManifestTree } from '../../manifests/index.js';

/** A manifest's keys and values as an outline, one value per line. */
export function outlineManifest(manifest: PlistDict): string[] {
  const lines: string[] = [];
  const write = (value: PlistValue, depth: number): void => {
    const pad = '    '.repeat(depth);
    if (Array.isArray(value)) {
      for (const v of value) {
        if (isPlistDict(v) || Array.isArray(v)) {
          write(v, depth);
          lines.push('');
        } else lines.push(`${pad}${scalar(v)}`);
      }
    } else if (isPlistDict(value)) {
      for (const [key, v] of Object.entries(value)) {
        if (isPlistDict(v) || Array.isArray(v)) {
          lines.push(`${pad}${key}:`);
          write(v, depth + 1);
        } else lines.push(`${pad}${key}: ${scalar(v)}`);
      }
    } else lines.push(`${pad}${scalar(value)}`);
  };
  write(manifest, 0);
  while (lines.at(-1) === '') lines.pop();
  return lines;
}

/**
 * The resolved view of manifest `name`: the include/condition tree with the catalogs in force at
 * each node, then every section's items with where they come from. `load` rejects for a manifest
 * that cannot be had, which fails the whole view as it fails a client's check.
 */
export async function resolvedManifestView(
  name: string,
  load: (name: string) => Promise<PlistDict>,
): Promise<string[]> {
  // Each condition is replaced by an always-true stand-in naming it, so the client's resolver
  // walks every branch (in its order, with its catalog inheritance) and tags each item with it.
  const conditions: { text: string; chain: string[]; error?: string }[] = [];
  const trueBranches = (dict: PlistDict, outer: string[]): PlistDict => {
    const copy: PlistDict = { ...dict };
    const items = dict['conditional_items'];
    if (Array.isArray(items)) {
      copy['conditional_items'] = items.map((entry) => {
        if (!isPlistDict(entry) || typeof entry['condition'] !== 'string') return entry;
        const text = entry['condition'];
        const chain = [...outer, text];
        const id = conditions.length;
        conditions.push({ text, chain, ...parseError(text) });
        return { ...trueBranches(entry, chain), condition: `"#${id}" == "#${id}"` };
      });
    }
    return copy;
  };
  const loaded = new Map<string, PlistDict>();
  const resolved = await resolveManifestTree(
    name,
    async (n) => {
      const manifest = await load(n);
      loaded.set(n, manifest);
      return trueBranches(manifest, []);
    },
    {},
  );
  const conditionOf = (standIn: string | undefined): string | undefined => {
    if (standIn === undefined) return undefined;
    const c = conditions[Number(/^"#(\d+)"/.exec(standIn)?.[1])];
    return c?.chain.map((t) => `\`${t}\``).join(' and ');
  };

  const lines = [
    `manifest ${name}`,
    `catalogs in force: ${resolved.primaryCatalogs.join(', ')}`,
    '',
    'tree:',
  ];
  const tree = (
    dict: PlistDict,
    label: string,
    inherited: readonly string[],
    depth: number,
    path: readonly string[],
  ): void => {
    const own = stringList(dict['catalogs']);
    const inForce = own.length > 0 ? own : inherited;
    const note = own.length > 0 ? inForce.join(', ') : `${inForce.join(', ')} (inherited)`;
    lines.push(`${'  '.repeat(depth)}${label}  [catalogs: ${note}]`);
    for (const include of stringList(dict['included_manifests'])) {
      if (include === '') continue;
      const manifest = loaded.get(include);
      if (path.includes(include)) {
        lines.push(`${'  '.repeat(depth + 1)}includes ${include}  (cycle: not followed)`);
      } else if (manifest) {
        tree(manifest, `includes ${include}`, inForce, depth + 1, [...path, include]);
      }
    }
    const items = dict['conditional_items'];
    for (const entry of Array.isArray(items) ? items : []) {
      if (!isPlistDict(entry) || typeof entry['condition'] !== 'string') continue;
      const error = parseError(entry['condition']).error;
      const label = `if \`${entry['condition']}\`${error ? `  (does not parse: ${error}; a client treats it as false)` : ''}`;
      tree(entry, label, inForce, depth + 1, path);
    }
  };
  const primary = loaded.get(name);
  if (primary) tree(primary, name, resolved.primaryCatalogs, 1, [name]);

  for (const section of MANIFEST_SECTIONS) {
    const items = resolved[section];
    if (items.length === 0) continue;
    lines.push('', `${section}:`);
    for (const item of items) {
      const condition = conditionOf(item.condition);
      const catalogs =
        item.catalogs.join(',') === resolved.primaryCatalogs.join(',')
          ? ''
          : `, catalogs ${item.catalogs.join(', ')}`;
      lines.push(
        `  ${item.item}  (from ${item.manifest}${condition ? `, if ${condition}` : ''}${catalogs})`,
      );
    }
  }
  if (conditions.length > 0) {
    lines.push(
      '',
      `${conditions.length} condition${conditions.length === 1 ? '' : 's'} not evaluated: a client decides them with its own facts`,
    );
  }
  for (const warning of resolved.warnings) {
    lines.push(
      `warning: ${warning.replace(/"#(\d+)" == "#\1"/g, (_, id: string) => conditions[Number(id)]?.text ?? '')}`,
    );
  }
  return lines;
}

function parseError(text: string): { error?: string } {
  try {
    parseCondition(text);
    return {};
  } catch (e) {
    return { error: describeError(e) };
  }
}

function stringList(value: PlistValue | undefined): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function scalar(value: PlistValue): string {
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return `<${value.byteLength} bytes of data>`;
  return String(value);
}

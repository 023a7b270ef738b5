/**
 * Editing real manifests from public Munki repos (../shared/fixtures/real-world, skipped when
 * absent): an added item only adds lines, everything else stays byte for byte, and taking it out
 * again gives back the original file whenever the section already had items.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isPlistDict, parsePlist, type PlistValue } from '../../formats/index.js';
import { repoCli } from '../helpers/cli.js';
import { makeRepo, REAL_WORLD, removeRepo } from '../helpers/make-repo.js';

const dir = join(REAL_WORLD, 'manifests');
const files = existsSync(dir) ? readdirSync(dir) : [];
const repos: string[] = [];
afterEach(async () => {
  for (const r of repos.splice(0)) await removeRepo(r);
});

/** How many lines of `before` are gone from `after` (by longest common subsequence). */
function linesRemoved(before: string[], after: string[]): number {
  let row = new Array<number>(after.length + 1).fill(0);
  for (const line of before) {
    const next = [0];
    for (let j = 0; j < after.length; j++) {
      next.push(line === after[j] ? row[j]! + 1 : Math.max(row[j + 1]!, next[j]!));
    }
    row = next;
  }
  return before.length - row[after.length]!;
}

describe.skipIf(files.length === 0)('repo manifest on real-world manifests', () => {
  it.each(files)('adds and removes an item in %s touching only its lines', async (file) => {
    const original = readFileSync(join(dir, file));
    const repo = await makeRepo({ catalogs: { all: [] } });
    repos.push(repo);
    await mkdir(join(repo, 'manifests'), { recursive: true });
    await copyFile(join(dir, file), join(repo, 'manifests', 'm'));
    const before = parsePlist(original) as Record<string, PlistValue>;
    const hadItems =
      Array.isArray(before['managed_installs']) && before['managed_installs'].length > 0;

    const add = await repoCli(['manifest', 'add', 'm', 'AbbotTestItem', '--repo', repo]);
    expect(add.code).toBe(0);
    expect(add.stderr).not.toMatch(/rewritten/);
    const added = await readFile(join(repo, 'manifests', 'm'), 'utf8');
    const lines = (t: string) => t.split('\n');
    // Only an empty `<array/>` line may change (it opens up to hold the item); nothing else.
    const wasEmptyTag = /<key>managed_installs<\/key>\s*<array\/>/.test(original.toString('utf8'));
    expect(linesRemoved(lines(original.toString('utf8')), lines(added))).toBe(wasEmptyTag ? 1 : 0);
    const after = parsePlist(added);
    expect(isPlistDict(after) && after['managed_installs']).toEqual([
      ...((before['managed_installs'] as PlistValue[] | undefined) ?? []),
      'AbbotTestItem',
    ]);

    const remove = await repoCli(['manifest', 'remove', 'm', 'AbbotTestItem', '--repo', repo]);
    expect(remove.code).toBe(0);
    const removed = await readFile(join(repo, 'manifests', 'm'));
    if (hadItems) expect(removed.equals(original)).toBe(true);
  });
});

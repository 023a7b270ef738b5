/**
 * The bundled example repo stays what its spec says: committed bytes equal freshly built ones
 * (`npm run examples` rewrites them), and the repo tools find it clean.
 */
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildPlist, parsePlist } from '../../formats/index.js';
import { memoryLogger } from '../../lib/log.js';
import { checkRepo } from '../../repo-tools/commands/check.js';
import { makeCatalogs } from '../../repo-tools/commands/makecatalogs.js';
import { buildExampleRepo } from './example-repo-spec.js';

const EXAMPLE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples', 'repo');
const UPDATE = process.env['ABBOT_UPDATE_EXAMPLES'] === '1';

const bytesOf = (v: Uint8Array | Parameters<typeof buildPlist>[0]): Uint8Array =>
  v instanceof Uint8Array ? v : Buffer.from(buildPlist(v));

describe('examples/repo', () => {
  it('holds exactly the files its spec builds', async () => {
    const files = await buildExampleRepo();
    if (UPDATE) {
      for (const kind of ['pkgs', 'pkgsinfo', 'manifests', 'icons', 'catalogs']) {
        await rm(join(EXAMPLE, kind), { recursive: true, force: true });
      }
      for (const [path, value] of files) {
        await mkdir(dirname(join(EXAMPLE, path)), { recursive: true });
        await writeFile(join(EXAMPLE, path), bytesOf(value));
      }
      await makeCatalogs({ repo: EXAMPLE, logger: memoryLogger(), cache: false });
    }
    for (const [path, value] of files) {
      const committed = await readFile(join(EXAMPLE, path)).catch(() => undefined);
      expect(committed, `${path} is out of date: run npm run examples`).toEqual(
        Buffer.from(bytesOf(value)),
      );
    }
  });

  it('builds catalogs with no warnings, and they match the committed ones', async () => {
    const copy = await mkdtemp(join(tmpdir(), 'abbot-example-'));
    try {
      await cp(EXAMPLE, copy, { recursive: true });
      const logger = memoryLogger();
      const result = await makeCatalogs({ repo: copy, logger, cache: false });
      expect(result.findings).toEqual([]);
      expect(result.catalogs.map((c) => `${c.name}:${c.items}`)).toEqual([
        'all:6',
        'production:5',
        'testing:4',
      ]);
      for (const name of await readdir(join(EXAMPLE, 'catalogs'))) {
        expect(await readFile(join(copy, 'catalogs', name))).toEqual(
          await readFile(join(EXAMPLE, 'catalogs', name)),
        );
      }
      expect(parsePlist(await readFile(join(copy, 'icons', '_icon_hashes.plist')))).toHaveProperty([
        'HelloWorld.png',
      ]);
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  });

  it('passes repo check', async () => {
    const result = await checkRepo({ repo: EXAMPLE, logger: memoryLogger() });
    expect(result.findings).toEqual([]);
  });
});

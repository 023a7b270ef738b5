/**
 * `abbot check` without --json lists Apple's updates in its summary, from a sandbox root whose
 * `usr/sbin/softwareupdate` prints real recorded listings (sources in
 * test/fixtures/softwareupdate/README.md). AppleSoftwareUpdatesOnly keeps the repo out of it.
 */
import { rm } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { PlistValue } from '../../../formats/index.js';
import { abbotCli } from '../../helpers/cli.js';
import { makeSandboxRoot } from '../../helpers/sandbox-root.js';
import { writeFakeSoftwareUpdate } from '../apple-updates/fake-softwareupdate.js';

const roots: string[] = [];
afterEach(async () => {
  for (const r of roots.splice(0)) await rm(r, { recursive: true, force: true });
});

/** The lines `abbot check` prints on a Ventura 13.5.2 sandbox whose softwareupdate lists `list`. */
async function checkSummary(
  list: string,
  prefs: Record<string, PlistValue> = {},
): Promise<string[]> {
  const root = await makeSandboxRoot({
    os: { version: '13.5.2', build: '22G91' },
    preferences: { AppleSoftwareUpdatesOnly: true, ...prefs },
  });
  roots.push(root);
  await writeFakeSoftwareUpdate(root, { list });
  const r = await abbotCli(['check', '--root', root]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout.split('\n');
}

const section = (lines: string[]): string[] => {
  const start = lines.indexOf('Apple software updates:');
  if (start < 0) return [];
  const end = lines.indexOf('', start);
  return lines.slice(start, end < 0 ? undefined : end);
};

describe('abbot check lists Apple software updates', () => {
  it('prints one line per update, marking those that restart', async () => {
    const lines = await checkSummary('list-ventura-with-sonoma.txt');
    expect(lines).toEqual([
      'Manifest:  (catalogs: none)',
      '',
      'Apple software updates:',
      '  + Safari 17.0  (Safari17.0VenturaAuto-17.0)',
      '  + macOS Ventura 13.6  (macOS Ventura 13.6-22G120) [restart]',
      '',
      '0 to install, 0 to remove, 2 Apple updates.',
      '',
    ]);
  });

  it('marks a major upgrade when AppleSoftwareUpdatesIncludeMajorOSUpdates offers it', async () => {
    const lines = await checkSummary('list-ventura-with-sonoma.txt', {
      AppleSoftwareUpdatesIncludeMajorOSUpdates: true,
    });
    expect(section(lines)).toEqual([
      'Apple software updates:',
      '  + Safari 17.0  (Safari17.0VenturaAuto-17.0)',
      '  + macOS Ventura 13.6  (macOS Ventura 13.6-22G120) [restart]',
      '  + macOS Sonoma 14.0  (macOS Sonoma 14.0-23A344) [restart, major upgrade]',
    ]);
  });

  it('prints no section when softwareupdate finds nothing', async () => {
    const lines = await checkSummary('list-no-new-software.txt');
    expect(lines.some((l) => l.startsWith('Apple'))).toBe(false);
    expect(lines).toContain('Nothing to do.');
  });
});

import { describe, expect, it } from 'vitest';
import { pathsFor } from '../../client/paths.js';

describe('pathsFor', () => {
  it.each([
    ['stateDir', '/Library/Abbot'],
    ['manifestsDir', '/Library/Abbot/manifests'],
    ['catalogsDir', '/Library/Abbot/catalogs'],
    ['cacheDir', '/Library/Abbot/Cache'],
    ['iconsDir', '/Library/Abbot/icons'],
    ['logsDir', '/Library/Abbot/Logs'],
    ['conditionsDir', '/Library/Abbot/conditions'],
    ['installInfo', '/Library/Abbot/InstallInfo.plist'],
    ['report', '/Library/Abbot/ManagedInstallReport.plist'],
    ['conditionalItems', '/Library/Abbot/ConditionalItems.plist'],
    ['tmpDir', '/Library/Abbot/tmp'],
    ['machinePlist', '/Library/Abbot/machine.plist'],
    ['preferences', '/Library/Preferences/org.abbot.client.plist'],
    ['managedPreferences', '/Library/Managed Preferences/org.abbot.client.plist'],
    ['receiptsDir', '/var/db/receipts'],
    ['systemVersionPlist', '/System/Library/CoreServices/SystemVersion.plist'],
  ] as const)('puts %s at %s on a Mac and under the root in a sandbox', (key, macPath) => {
    expect(pathsFor('/')[key]).toBe(macPath);
    expect(pathsFor('/tmp/sandbox')[key]).toBe(`/tmp/sandbox${macPath}`);
  });

  it('makes a relative root absolute', () => {
    expect(pathsFor('sb').root).toBe(`${process.cwd()}/sb`);
    expect(pathsFor('sb/').stateDir).toBe(`${process.cwd()}/sb/Library/Abbot`);
  });

  it('is frozen', () => {
    expect(Object.isFrozen(pathsFor('/'))).toBe(true);
  });
});

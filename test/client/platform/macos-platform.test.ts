/**
 * The macOS platform on any OS: fake Apple tools under a temporary command root print real
 * recorded macOS output (each fake names its source in a comment) and log the argv they got.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readToolCalls, writeFakeTool } from '../../helpers/fake-tools.js';
import {
  hasInternalBattery,
  macosPlatform,
  parseIoregSerial,
  parsePkgutilReceipts,
  parseSwVers,
  splitConcatenatedPlists,
} from '../../../client/platform/macos/macos-platform.js';
import { memoryLogger } from '../../../lib/log.js';
import { CommandError } from '../../../lib/run-command.js';

// ---------------------------------------------------------------------------------------------
// Recorded macOS output

/**
 * `pkgutil --pkg-info-plist com.apple.pkg.MobileAssets`, verbatim: a real Mac's output quoted in a
 * public Go test fixture ("Saída real do pkgutil --pkg-info-plist"), see
 * /work/shared/reference/formats-and-dependencies.md §2.
 */
const PKGINFO_MOBILEASSETS = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
\t<key>install-location</key>
\t<string>/</string>
\t<key>install-time</key>
\t<integer>1737854274</integer>
\t<key>pkg-version</key>
\t<string>1.0.0.0.1645860813</string>
\t<key>pkgid</key>
\t<string>com.apple.pkg.MobileAssets</string>
\t<key>receipt-plist-version</key>
\t<real>1</real>
\t<key>volume</key>
\t<string>/</string>
</dict>
</plist>
`;

/**
 * The real receipt of ClamXav's engine (`pkgutil --pkg-info`: version 0.99.1, volume /, location
 * usr/local/clamXav, install-time 1462347497; visualisere.no, quoted in formats reference §2), in
 * the shape pkgutil's plist form gives every receipt.
 */
const PKGINFO_CLAMXAV = PKGINFO_MOBILEASSETS.replace(
  '<string>/</string>',
  '<string>usr/local/clamXav</string>',
)
  .replace('1737854274', '1462347497')
  .replace('1.0.0.0.1645860813', '0.99.1')
  .replace('com.apple.pkg.MobileAssets', 'uk.co.canimaansoftware.clamxav-engine-installer');

/**
 * The real receipt of QQ from the App Store (`plutil -p …/com.tencent.qq.plist`: InstallDate
 * 2021-02-15 03:06:32 +0000, InstallPrefixPath Applications/, version 6.7.3; xnip.cn, quoted in
 * formats reference §2), in pkgutil's plist form.
 */
const PKGINFO_QQ = PKGINFO_MOBILEASSETS.replace(
  '<string>/</string>',
  '<string>Applications/</string>',
)
  .replace('1737854274', '1613358392')
  .replace('1.0.0.0.1645860813', '6.7.3')
  .replace('com.apple.pkg.MobileAssets', 'com.tencent.qq');

/**
 * `ioreg -rd1 -c IOPlatformExpertDevice` on a MacBookPro17,1 (M1), as recorded in OpenTelemetry
 * .NET contrib's test/OpenTelemetry.Resources.Host.Tests/HostDetectorTests.cs: long lines cut at
 * the terminal's width (`$`) and the serial and UUID anonymised by its authors.
 */
const IOREG_MACBOOKPRO17_1 = `+-o J293AP  <class IOPlatformExpertDevice, id 0x100000227, registered, matched,$
    {
      "IOPolledInterface" = "AppleARMWatchdogTimerHibernateHandler is not seria$
      "#address-cells" = <02000000>
      "AAPL,phandle" = <01000000>
      "serial-number" = <432123465233514651303544000000000000000000000000000000$
      "IOBusyInterest" = "IOCommand is not serializable"
      "target-type" = <"J293">
      "platform-name" = <743831303300000000000000000000000000000000000000000000$
      "secure-root-prefix" = <"md">
      "name" = <"device-tree">
      "region-info" = <4c4c2f41000000000000000000000000000000000000000000000000$
      "manufacturer" = <"Apple Inc.">
      "compatible" = <"J293AP","MacBookPro17,1","AppleARM">
      "config-number" = <000000000000000000000000000000000000000000000000000000$
      "IOPlatformSerialNumber" = "A01BC3QFQ05D"
      "regulatory-model-number" = <41323333380000000000000000000000000000000000$
      "time-stamp" = <"Mon Jun 27 20:12:10 PDT 2022">
      "clock-frequency" = <00366e01>
      "model" = <"MacBookPro17,1">
      "mlb-serial-number" = <432123413230363030455151384c4c314a0000000000000000$
      "model-number" = <4d59443832000000000000000000000000000000000000000000000$
      "IONWInterrupts" = "IONWInterrupts"
      "model-config" = <"SUNWAY;MoPED=0x803914B08BE6C5AF0E6C990D7D8240DA4CAC2FF$
      "device_type" = <"bootrom">
      "#size-cells" = <02000000>
      "IOPlatformUUID" = "1AB2345C-03E4-57D4-A375-1234D48DE123"
    }
`;

/**
 * `sw_vers` on macOS 14.4.1 (23E224), as recorded in public terminal transcripts (the pair is the
 * real release: actions/runner-images images/macos/macos-14-Readme.md "macOS 14.4.1 (23E224)").
 */
const SW_VERS_14_4_1 =
  'ProductName:\t\tmacOS\nProductVersion:\t\t14.4.1\nBuildVersion:\t\t23E224\n';

/** `sw_vers` on OS X 10.10.5 (older layout, spaces), from fizzed/jne's MacSwVersTest. */
const SW_VERS_10_10_5 = 'ProductName:    Mac OS X\nProductVersion: 10.10.5\nBuildVersion:   14F27';

/** `pmset -g batt` on a MacBook on AC power, as quoted from https://stackoverflow.com/a/42361337. */
const PMSET_LAPTOP =
  "Now drawing from 'AC Power'\n -InternalBattery-0 (id=3735651)\t97%; charged; 0:00 remaining present: true\n";

/** `pmset -g batt` on a Mac without a battery (Mac mini/Studio): the power source line alone. */
const PMSET_DESKTOP = "Now drawing from 'AC Power'\n";

/**
 * `sysctl -n sysctl.proc_translated` on an Intel Mac, where the OID does not exist (Apple,
 * "About the Rosetta translation environment"; the message as quoted in public test fixtures).
 */
const SYSCTL_NO_TRANSLATION_OID = "sysctl: unknown oid 'sysctl.proc_translated'\n";

// ---------------------------------------------------------------------------------------------
// Fake executables

let commandRoot: string;
let argvLog: string;
beforeEach(async () => {
  commandRoot = await mkdtemp(join(tmpdir(), 'abbot-macos-'));
  argvLog = join(commandRoot, 'argv.log');
});
afterEach(async () => {
  await rm(commandRoot, { recursive: true, force: true });
});

/** A fake tool at `<commandRoot><macPath>` (see test/helpers/fake-tools.ts). */
const fake = (
  macPath: string,
  source: string,
  body: string,
  outputs: Record<string, string> = {},
) => writeFakeTool(commandRoot, argvLog, macPath, source, body, outputs);

const out = (name: string): string => `cat "$OUT.${name}.out"`;

/** The argv lines the fakes logged, in call order. */
const calls = (): Promise<string[][]> => readToolCalls(argvLog);

/** A Mac whose tools answer as recorded; parts can be overridden. */
async function fakeMac(
  options: {
    uname?: string;
    translated?: 'absent' | '0' | '1';
    pmset?: string;
    ioreg?: string;
  } = {},
): Promise<void> {
  await fake(
    '/usr/bin/uname',
    'uname -m on the Mac being faked',
    `echo ${options.uname ?? 'arm64'}`,
  );
  const translated = options.translated ?? 'absent';
  await fake(
    '/usr/sbin/sysctl',
    'hw.model of the MacBookPro17,1 whose ioreg is below; proc_translated per Apple Rosetta docs',
    [
      'case "$2" in',
      '  hw.model) echo "MacBookPro17,1" ;;',
      translated === 'absent'
        ? `  sysctl.proc_translated) ${out('noid')} >&2; exit 1 ;;`
        : `  sysctl.proc_translated) echo ${translated} ;;`,
      '  *) echo "unexpected" >&2; exit 2 ;;',
      'esac',
    ].join('\n'),
    { noid: SYSCTL_NO_TRANSLATION_OID },
  );
  await fake('/usr/sbin/ioreg', 'OpenTelemetry .NET contrib HostDetectorTests.cs', out('ioreg'), {
    ioreg: options.ioreg ?? IOREG_MACBOOKPRO17_1,
  });
  await fake('/usr/bin/sw_vers', 'macOS 14.4.1 (23E224) transcripts', out('sw'), {
    sw: SW_VERS_14_4_1,
  });
  await fake('/usr/bin/pmset', 'https://stackoverflow.com/a/42361337', out('batt'), {
    batt: options.pmset ?? PMSET_LAPTOP,
  });
}

const NOW = new Date('2025-05-01T12:00:00Z');

// ---------------------------------------------------------------------------------------------

describe('macOS listReceipts', () => {
  it('parses the concatenated plists of ONE pkgutil call', async () => {
    await fake(
      '/usr/sbin/pkgutil',
      'real --pkg-info-plist receipts, formats reference §2',
      out('all'),
      { all: [PKGINFO_MOBILEASSETS, PKGINFO_QQ, PKGINFO_CLAMXAV].join('') },
    );
    const receipts = await macosPlatform({ commandRoot }).listReceipts();
    expect(receipts).toEqual([
      {
        packageId: 'com.apple.pkg.MobileAssets',
        version: '1.0.0.0.1645860813',
        installPrefixPath: '/',
        installDate: new Date('2025-01-26T01:17:54Z'),
      },
      {
        packageId: 'com.tencent.qq',
        version: '6.7.3',
        installPrefixPath: 'Applications/',
        installDate: new Date('2021-02-15T03:06:32Z'),
      },
      {
        packageId: 'uk.co.canimaansoftware.clamxav-engine-installer',
        version: '0.99.1',
        installPrefixPath: 'usr/local/clamXav',
        installDate: new Date('2016-05-04T07:38:17Z'),
      },
    ]);
    expect(await calls()).toEqual([['/usr/sbin/pkgutil', '--regexp', '--pkg-info-plist', '.*']]);
  });

  it('skips a receipt that does not parse, with a warning', async () => {
    const broken = PKGINFO_QQ.replace('<string>com.tencent.qq</string>', '<string>com.tencent.qq');
    await fake('/usr/sbin/pkgutil', 'real receipts, one damaged by hand', out('all'), {
      all: [PKGINFO_MOBILEASSETS, broken, PKGINFO_CLAMXAV].join('\n'),
    });
    const logger = memoryLogger();
    const receipts = await macosPlatform({ commandRoot, logger }).listReceipts();
    expect(receipts.map((r) => r.packageId)).toEqual([
      'com.apple.pkg.MobileAssets',
      'uk.co.canimaansoftware.clamxav-engine-installer',
    ]);
    expect(logger.entries.map((e) => e.event)).toEqual(['receipts.skipped']);
    expect(logger.entries[0]?.message).toMatch(/^pkgutil receipt #2: /);
  });

  it('has none when pkgutil finds no receipt', async () => {
    await fake(
      '/usr/sbin/pkgutil',
      "pkgutil's message for a pattern matching nothing",
      `echo "No receipt for '.*' found at '/'." >&2; exit 1`,
    );
    expect(await macosPlatform({ commandRoot }).listReceipts()).toEqual([]);
  });

  it('throws a CommandError when pkgutil fails otherwise', async () => {
    await fake('/usr/sbin/pkgutil', 'a failure', 'echo "Error: disk I/O" >&2; exit 3');
    const error: unknown = await macosPlatform({ commandRoot })
      .listReceipts()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandError);
    expect(error).toMatchObject({
      code: 'COMMAND_FAILED',
      status: 3,
      argv: ['/usr/sbin/pkgutil', '--regexp', '--pkg-info-plist', '.*'],
      stderrTail: 'Error: disk I/O',
    });
  });

  it('throws COMMAND_FAILED when pkgutil is missing', async () => {
    await expect(macosPlatform({ commandRoot }).listReceipts()).rejects.toMatchObject({
      code: 'COMMAND_FAILED',
    });
  });
});

describe('macOS collectFacts', () => {
  it('reads an Apple silicon laptop from sysctl, uname, ioreg, sw_vers and pmset', async () => {
    await fakeMac();
    const facts = await macosPlatform({ commandRoot }).collectFacts(NOW);
    expect(facts).toMatchObject({
      arch: 'arm64',
      machine_model: 'MacBookPro17,1',
      machine_type: 'laptop',
      serial_number: 'A01BC3QFQ05D',
      os_vers: '14.4.1',
      os_vers_major: 14,
      os_vers_minor: 4,
      os_vers_patch: 1,
      os_build_number: '23E224',
      os_build_last_component: '224',
    });
    expect('x86_64_capable' in facts).toBe(false);
    const argv = (await calls()).map((c) => c.join(' ')).sort();
    // proc_translated is only asked when uname says x86_64.
    expect(argv).toEqual([
      '/usr/bin/pmset -g batt',
      '/usr/bin/sw_vers',
      '/usr/bin/uname -m',
      '/usr/sbin/ioreg -rd1 -c IOPlatformExpertDevice',
      '/usr/sbin/sysctl -n hw.model',
    ]);
  });

  it('reports arm64 under Rosetta (uname x86_64, proc_translated 1)', async () => {
    await fakeMac({ uname: 'x86_64', translated: '1' });
    const facts = await macosPlatform({ commandRoot }).collectFacts(NOW);
    expect(facts['arch']).toBe('arm64');
    expect('x86_64_capable' in facts).toBe(false);
    expect((await calls()).map((c) => c.join(' '))).toContain(
      '/usr/sbin/sysctl -n sysctl.proc_translated',
    );
  });

  it.each([
    ['absent', 'the OID does not exist (exit 1)'],
    ['0', 'the OID says native'],
  ] as const)('reports x86_64 on an Intel Mac when %s: %s', async (translated, _why) => {
    await fakeMac({ uname: 'x86_64', translated });
    const logger = memoryLogger();
    const facts = await macosPlatform({ commandRoot, logger }).collectFacts(NOW);
    expect(facts).toMatchObject({ arch: 'x86_64', x86_64_capable: true });
    expect(logger.entries).toEqual([]); // a missing OID on Intel is normal, not a warning
  });

  it('calls a Mac without an internal battery a desktop', async () => {
    await fakeMac({ pmset: PMSET_DESKTOP });
    expect((await macosPlatform({ commandRoot }).collectFacts(NOW))['machine_type']).toBe(
      'desktop',
    );
  });

  it('reports serial UNKNOWN when ioreg has none', async () => {
    await fakeMac({ ioreg: IOREG_MACBOOKPRO17_1.replace(/.*IOPlatformSerialNumber.*\n/, '') });
    expect((await macosPlatform({ commandRoot }).collectFacts(NOW))['serial_number']).toBe(
      'UNKNOWN',
    );
  });

  it('falls back, with a warning, when a tool is missing', async () => {
    await fakeMac();
    await rm(join(commandRoot, 'usr/sbin/ioreg'));
    const logger = memoryLogger();
    const facts = await macosPlatform({ commandRoot, logger }).collectFacts(NOW);
    expect(facts['serial_number']).toBe('UNKNOWN');
    expect(logger.entries.map((e) => e.event)).toEqual(['platform.command.unavailable']);
    expect(logger.entries[0]?.message).toContain('usr/sbin/ioreg');
  });

  it('fails rather than guess the OS version when sw_vers fails', async () => {
    await fakeMac();
    await fake('/usr/bin/sw_vers', 'a failing sw_vers', 'exit 1');
    await expect(macosPlatform({ commandRoot }).collectFacts(NOW)).rejects.toMatchObject({
      code: 'COMMAND_FAILED',
    });
  });
});

describe('macOS output parsers', () => {
  it.each([
    [SW_VERS_14_4_1, { productVersion: '14.4.1', buildVersion: '23E224' }],
    [SW_VERS_10_10_5, { productVersion: '10.10.5', buildVersion: '14F27' }],
    ['', {}],
  ])('reads sw_vers output %j', (text, expected) => {
    expect(parseSwVers(text)).toEqual(expected);
  });

  it.each([
    [IOREG_MACBOOKPRO17_1, 'A01BC3QFQ05D'],
    ['"IOPlatformSerialNumber" = ""', undefined],
    ['', undefined],
  ])('reads the serial from ioreg output (%#)', (text, serial) => {
    expect(parseIoregSerial(text)).toBe(serial);
  });

  it.each([
    [PMSET_LAPTOP, true],
    [PMSET_DESKTOP, false],
    ['', false],
  ])('tells an internal battery from pmset output (%#)', (text, isLaptop) => {
    expect(hasInternalBattery(text)).toBe(isLaptop);
  });

  it.each([
    [PKGINFO_MOBILEASSETS + PKGINFO_QQ, 2],
    [`${PKGINFO_MOBILEASSETS}\n\n\n${PKGINFO_QQ}\n`, 2],
    [PKGINFO_MOBILEASSETS, 1],
    ['', 0],
    ['\n', 0],
  ])('splits concatenated plists (%#)', (text, count) => {
    const docs = splitConcatenatedPlists(text);
    expect(docs).toHaveLength(count);
    for (const doc of docs) expect(doc).toMatch(/^<\?xml[\s\S]*<\/plist>$/);
  });

  it('returns trailing text without </plist> as a last document, so it fails loudly', () => {
    const logger = memoryLogger();
    const receipts = parsePkgutilReceipts(
      `${PKGINFO_QQ}<?xml version="1.0"?><plist><dict>`,
      logger,
    );
    expect(receipts.map((r) => r.packageId)).toEqual(['com.tencent.qq']);
    expect(logger.entries.map((e) => e.event)).toEqual(['receipts.skipped']);
  });
});

describe('macOS file access and scripts', () => {
  it('reads files at their real paths', async () => {
    const platform = macosPlatform({ commandRoot });
    const file = join(commandRoot, 'x.plist');
    await writeFile(file, PKGINFO_MOBILEASSETS);
    expect(await platform.exists(file)).toBe(true);
    expect(await platform.readPlist(file)).toMatchObject({ pkgid: 'com.apple.pkg.MobileAssets' });
    expect(platform.paths.stateDir).toBe('/Library/Abbot');
    expect(platform.kind).toBe('macos');
  });
});

describe('macOS session facts for install sessions', () => {
  it('lists running executables with `ps -axo comm=`', async () => {
    // ps -axo comm= on macOS prints each process's executable path, one per line (the layout
    // shown in Apple's ps(1) man page: `comm` is the full command path without arguments).
    await fake('/bin/ps', 'ps -axo comm= layout from the macOS ps(1) man page', out('list'), {
      list: '/sbin/launchd\n/usr/libexec/logd\n/Applications/Safari.app/Contents/MacOS/Safari\n',
    });
    const processes = await macosPlatform({ commandRoot }).listProcesses();
    expect(processes).toEqual([
      '/sbin/launchd',
      '/usr/libexec/logd',
      '/Applications/Safari.app/Contents/MacOS/Safari',
    ]);
    expect(await calls()).toEqual([['/bin/ps', '-axo', 'comm=']]);
  });

  it.each([
    ['alice', 'alice'],
    ['root', undefined],
    ['loginwindow', undefined],
  ])('reports the console user %s as %s', async (owner, expected) => {
    await fake(
      '/usr/bin/stat',
      'stat -f%Su prints the owner name of /dev/console',
      `echo ${owner}`,
    );
    expect(await macosPlatform({ commandRoot }).consoleUser()).toBe(expected);
    expect(await calls()).toEqual([['/usr/bin/stat', '-f%Su', '/dev/console']]);
  });
});

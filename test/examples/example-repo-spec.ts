/**
 * The bundled example repo (examples/repo), described as data: real flat packages built with the
 * test package writer, the pkginfo files that describe them (hashes and sizes computed from the
 * built bytes), nopkg items, manifests with includes and conditional items, and icons.
 * `npm run examples` writes it; test/examples/example-repo.test.ts checks the committed copy matches.
 */
import { createHash } from 'node:crypto';
import { crc32, deflateSync } from 'node:zlib';
import type { PlistValue } from '../../formats/index.js';
import { buildFlatPackage } from '../helpers/flat-package.js';

/** Every file of the example repo, by path relative to examples/repo. */
export type RepoFiles = Map<string, Uint8Array | PlistValue>;

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const kb = (b: Uint8Array): number => Math.floor(b.length / 1024) || 1;

/** A small solid-colour PNG with a darker border: a real image, made without any image library. */
export function makePng(size: number, rgb: [number, number, number]): Uint8Array {
  const chunk = (type: string, data: Buffer): Buffer => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
    return Buffer.concat([head, data, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // truecolour
  const rows: number[] = [];
  for (let y = 0; y < size; y++) {
    rows.push(0); // filter: none
    for (let x = 0; x < size; x++) {
      const edge = x < 2 || y < 2 || x >= size - 2 || y >= size - 2;
      for (const c of rgb) rows.push(edge ? Math.floor(c / 2) : c);
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.from(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const POSTINSTALL_HELLO = `#!/bin/sh
# $3 is the target volume: / on a Mac, the sandbox root under Abbot's sandbox platform.
mkdir -p "$3/Library/Application Support/Hello World"
echo "installed by $0" > "$3/Library/Application Support/Hello World/installed.txt"
exit 0
`;

/** Builds every file of the example repo. */
export async function buildExampleRepo(): Promise<RepoFiles> {
  const files: RepoFiles = new Map();

  const hello = async (version: string, encoding: 'gzip' | 'pbzx'): Promise<Uint8Array> =>
    buildFlatPackage({
      kind: 'component',
      identifier: 'org.abbot.example.helloworld',
      version,
      installLocation: '/',
      payloadEncoding: encoding,
      apps: [
        {
          path: 'Applications/Hello World.app',
          bundleId: 'org.abbot.example.HelloWorld',
          shortVersion: version,
          bundleVersion: version.replace(/\./g, ''),
          minOS: '12.0',
        },
      ],
      scripts: { postinstall: POSTINSTALL_HELLO },
    });

  for (const [version, encoding, catalogs] of [
    ['1.0', 'gzip', ['testing', 'production']],
    ['1.1', 'pbzx', ['testing']],
  ] as const) {
    const pkg = await hello(version, encoding);
    const location = `apps/HelloWorld-${version}.pkg`;
    files.set(`pkgs/${location}`, pkg);
    files.set(`pkgsinfo/apps/HelloWorld-${version}.plist`, {
      _metadata: { created_by: 'abbot examples', creation_date: new Date('2026-01-15T09:00:00Z') },
      autoremove: false,
      catalogs: [...catalogs],
      category: 'Utilities',
      description: 'A tiny app that says hello. Used by the Abbot demo.',
      developer: 'Abbot',
      display_name: 'Hello World',
      icon_name: 'HelloWorld.png',
      installed_size: 4,
      installer_item_hash: sha256(pkg),
      installer_item_location: location,
      installer_item_size: kb(pkg),
      installs: [
        {
          CFBundleIdentifier: 'org.abbot.example.HelloWorld',
          CFBundleName: 'Hello World',
          CFBundleShortVersionString: version,
          CFBundleVersion: version.replace(/\./g, ''),
          minosversion: '12.0',
          path: '/Applications/Hello World.app',
          type: 'application',
          version_comparison_key: 'CFBundleShortVersionString',
        },
      ],
      minimum_os_version: '12.0',
      name: 'HelloWorld',
      receipts: [{ installed_size: 4, packageid: 'org.abbot.example.helloworld', version }],
      unattended_install: true,
      uninstall_method: 'removepackages',
      uninstallable: true,
      version,
    });
  }

  const tools = await buildFlatPackage({
    kind: 'product',
    identifier: 'org.abbot.example.tools',
    version: '2.0',
    title: 'Abbot Example Tools',
    minOsVersion: '13.0',
    hostArchitectures: ['x86_64', 'arm64'],
    components: [
      {
        identifier: 'org.abbot.example.tools.cli',
        version: '2.0',
        installLocation: '/usr/local',
        files: [
          {
            path: 'bin/abbot-hello',
            contents: '#!/bin/sh\necho "hello from Abbot"\n',
            mode: 0o755,
          },
        ],
      },
      {
        identifier: 'org.abbot.example.tools.docs',
        version: '2.0',
        installLocation: '/usr/local',
        payloadEncoding: 'pbzx',
        files: [
          { path: 'share/doc/abbot-hello/README', contents: 'abbot-hello prints a greeting.\n' },
          { path: 'share/doc/abbot-hello/LATEST', symlink: 'README' },
        ],
      },
    ],
  });
  files.set('pkgs/utilities/AbbotTools-2.0.pkg', tools);
  files.set('pkgsinfo/utilities/AbbotTools-2.0.plist', {
    _metadata: { created_by: 'abbot examples', creation_date: new Date('2026-01-15T09:00:00Z') },
    catalogs: ['testing', 'production'],
    category: 'Developer Tools',
    description:
      'Command-line tools for the Abbot demo, delivered as a product package with two components.',
    display_name: 'Abbot Example Tools',
    icon_name: 'AbbotTools.png',
    installed_size: 8,
    installer_item_hash: sha256(tools),
    installer_item_location: 'utilities/AbbotTools-2.0.pkg',
    installer_item_size: kb(tools),
    minimum_os_version: '13.0',
    name: 'AbbotTools',
    receipts: [
      { installed_size: 4, packageid: 'org.abbot.example.tools.cli', version: '2.0' },
      { installed_size: 4, packageid: 'org.abbot.example.tools.docs', version: '2.0' },
    ],
    supported_architectures: ['x86_64', 'arm64'],
    uninstall_method: 'removepackages',
    uninstallable: true,
    version: '2.0',
  });

  files.set('pkgsinfo/config/HelloWorldSettings-1.0.plist', {
    catalogs: ['testing', 'production'],
    description: 'Sets Hello World to greet in French; installed with Hello World as its update.',
    display_name: 'Hello World settings',
    installcheck_script:
      '#!/bin/sh\n# exit 0 means "needs installing"\ntest -f "$ABBOT_ROOT/Library/Preferences/org.abbot.example.HelloWorld.plist" && exit 1\nexit 0\n',
    installer_type: 'nopkg',
    name: 'HelloWorldSettings',
    postinstall_script:
      '#!/bin/sh\nmkdir -p "$ABBOT_ROOT/Library/Preferences"\ncat > "$ABBOT_ROOT/Library/Preferences/org.abbot.example.HelloWorld.plist" <<PLIST\n<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0"><dict><key>Greeting</key><string>Bonjour</string></dict></plist>\nPLIST\n',
    unattended_install: true,
    update_for: ['HelloWorld'],
    version: '1.0',
  });

  files.set('pkgsinfo/config/DockDefaults-1.0.plist', {
    catalogs: ['production'],
    description: 'Laptop-only Dock defaults.',
    display_name: 'Dock defaults for laptops',
    installcheck_script:
      '#!/bin/sh\ntest -f "$ABBOT_ROOT/Library/Abbot-Examples/dock-configured" && exit 1\nexit 0\n',
    installer_type: 'nopkg',
    installable_condition: 'machine_type == "laptop"',
    name: 'DockDefaults',
    postinstall_script:
      '#!/bin/sh\nmkdir -p "$ABBOT_ROOT/Library/Abbot-Examples"\ndate > "$ABBOT_ROOT/Library/Abbot-Examples/dock-configured"\n',
    unattended_install: true,
    version: '1.0',
  });

  files.set('pkgsinfo/legacy/LegacyAgent-1.0.plist', {
    catalogs: ['production'],
    description: 'An old agent the fleet should no longer have.',
    display_name: 'Legacy Agent',
    installer_type: 'nopkg',
    name: 'LegacyAgent',
    uninstallcheck_script:
      '#!/bin/sh\n# exit 0 means "is installed"\ntest -e "$ABBOT_ROOT/Library/LaunchDaemons/org.example.legacyagent.plist"\n',
    uninstall_method: 'uninstall_script',
    uninstall_script:
      '#!/bin/sh\nrm -f "$ABBOT_ROOT/Library/LaunchDaemons/org.example.legacyagent.plist"\n',
    uninstallable: true,
    unattended_uninstall: true,
    version: '1.0',
  });

  files.set('manifests/site_default', {
    catalogs: ['production'],
    included_manifests: ['includes/baseline'],
    managed_installs: ['HelloWorld'],
    optional_installs: ['AbbotTools'],
    featured_items: ['AbbotTools'],
    conditional_items: [
      {
        condition: 'machine_type == "laptop"',
        managed_installs: ['DockDefaults'],
      },
    ],
  });
  files.set('manifests/includes/baseline', {
    managed_uninstalls: ['LegacyAgent'],
    conditional_items: [
      {
        condition: 'os_vers_major >= 13 AND arch IN {"arm64", "x86_64"}',
        optional_installs: ['AbbotTools'],
      },
    ],
  });
  files.set('manifests/demo-mac', {
    catalogs: ['testing', 'production'],
    included_manifests: ['site_default'],
    managed_updates: ['AbbotTools'],
  });

  files.set('icons/HelloWorld.png', makePng(32, [64, 140, 220]));
  files.set('icons/AbbotTools.png', makePng(32, [220, 120, 40]));
  return files;
}

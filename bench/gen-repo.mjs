// Generates a realistic Munki repo for benchmarks: N pkginfo files shaped like AutoPkg/munkiimport
// output (installs, receipts, scripts, descriptions), ~2.5 KB each, plus an empty file in pkgs/ for each.
import { mkdirSync, writeFileSync, utimesSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';

const lorem =
  'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. ' +
  'Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. ';

function esc(s) {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The XML of pkginfo number `i` (name App<i/10>, version 1.<i%10>.0). */
export function pkginfoXml(i, extra = '') {
  const app = `App${Math.floor(i / 10)}`;
  const version = `${1 + (i % 10)}.${i % 7}.${i % 3}`;
  const hash = createHash('sha256').update(String(i)).digest('hex');
  const catalogs =
    i % 2
      ? '<string>testing</string>\n\t\t<string>production</string>'
      : '<string>testing</string>';
  const script = `#!/bin/bash\n# configure ${app}\nif [ -d "/Applications/${app}.app" ] && [ "$3" = "/" ]; then\n  /usr/bin/defaults write /Library/Preferences/com.example.${app} SUEnableAutomaticChecks -bool false\nfi\nexit 0\n`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>_metadata</key>
	<dict>
		<key>created_by</key>
		<string>autopkg</string>
		<key>creation_date</key>
		<date>2024-03-0${1 + (i % 9)}T10:00:00Z</date>
		<key>munki_version</key>
		<string>6.4.1.4759</string>
		<key>os_version</key>
		<string>14.3.1</string>
	</dict>
	<key>autoremove</key>
	<false/>
	<key>catalogs</key>
	<array>
		${catalogs}
	</array>
	<key>category</key>
	<string>Productivity</string>
	<key>description</key>
	<string>${esc(`${app} <b>${version}</b> & friends. ` + lorem.slice(0, 60))}${extra}</string>
	<key>developer</key>
	<string>Vendor ${i % 97}</string>
	<key>display_name</key>
	<string>${app} Pro</string>
	<key>installed_size</key>
	<integer>${100000 + i}</integer>
	<key>installer_item_hash</key>
	<string>${hash}</string>
	<key>installer_item_location</key>
	<string>apps/${app}/${app}-${version}.pkg</string>
	<key>installer_item_size</key>
	<integer>${50000 + i}</integer>
	<key>installs</key>
	<array>
		<dict>
			<key>CFBundleIdentifier</key>
			<string>com.example.${app.toLowerCase()}</string>
			<key>CFBundleName</key>
			<string>${app}</string>
			<key>CFBundleShortVersionString</key>
			<string>${version}</string>
			<key>CFBundleVersion</key>
			<string>${i}</string>
			<key>minosversion</key>
			<string>11.0</string>
			<key>path</key>
			<string>/Applications/${app}.app</string>
			<key>type</key>
			<string>application</string>
			<key>version_comparison_key</key>
			<string>CFBundleShortVersionString</string>
		</dict>
	</array>
	<key>minimum_os_version</key>
	<string>11.0</string>
	<key>name</key>
	<string>${app}</string>
	<key>notes</key>
	<string>imported by the bench generator</string>
	<key>postinstall_script</key>
	<string>${esc(script)}</string>
	<key>receipts</key>
	<array>
		<dict>
			<key>installed_size</key>
			<integer>${90000 + i}</integer>
			<key>packageid</key>
			<string>com.example.${app.toLowerCase()}.pkg</string>
			<key>version</key>
			<string>${version}</string>
		</dict>
	</array>
	<key>unattended_install</key>
	<true/>
	<key>uninstall_method</key>
	<string>removepackages</string>
	<key>uninstallable</key>
	<true/>
	<key>version</key>
	<string>${version}</string>
</dict>
</plist>
`;
}

/** Writes the repo under `root` unless a complete one is already there; returns its byte size. */
export function generateRepo(root, count) {
  const marker = join(root, `.complete-${count}`);
  if (existsSync(marker)) return;
  rmSync(root, { recursive: true, force: true });
  const past = new Date(Date.now() - 3600_000);
  for (let i = 0; i < count; i++) {
    const app = `App${Math.floor(i / 10)}`;
    const version = `${1 + (i % 10)}.${i % 7}.${i % 3}`;
    const dir = join(root, 'pkgsinfo', 'apps', app);
    const pdir = join(root, 'pkgs', 'apps', app);
    if (i % 10 === 0) {
      mkdirSync(dir, { recursive: true });
      mkdirSync(pdir, { recursive: true });
    }
    const file = join(dir, `${app}-${version}.plist`);
    writeFileSync(file, pkginfoXml(i));
    utimesSync(file, past, past);
    writeFileSync(join(pdir, `${app}-${version}.pkg`), '');
  }
  mkdirSync(join(root, 'manifests'), { recursive: true });
  mkdirSync(join(root, 'icons'), { recursive: true });
  for (let i = 0; i < 50; i++) writeFileSync(join(root, 'icons', `App${i}.png`), `png ${i}`);
  writeFileSync(marker, '');
}

/**
 * `--installer-choices-xml`: the `selected` state of each choice of a product package, as Munki
 * records it in installer_choices_xml (getChoiceChangesXML: `installer -showChoiceChangesXML`,
 * keeping the `selected` entries, whose attributeSetting is an integer 1 or 0; format as printed in
 * the Munki wiki's ChoiceChangesXML page). On a Mac installer is asked; elsewhere the Distribution is
 * read: each choice of the choices-outline, selected unless its `start_selected`/`selected` is
 * literally false. A choice whose state is JavaScript needs installer, and is refused.
 */
import { join } from 'node:path';
import type { InstallerChoice } from '../../catalogs/index.js';
import {
  isPlistDict,
  parsePlist,
  parseXml,
  readFlatPackage,
  xmlAttribute,
  xmlChild,
  xmlChildren,
  xmlDescendants,
} from '../../formats/index.js';
import { AppError } from '../../lib/errors.js';
import { assertCommandSucceeded, runCommand } from '../../lib/run-command.js';
import { named } from './from-flat-package.js';
import { openItemFile } from './package-file.js';

/** The choices of the package at `path`; `toolRoot` stands for `/` when finding installer. */
export async function installerChoices(
  path: string,
  platform: NodeJS.Platform,
  toolRoot: string,
): Promise<InstallerChoice[]> {
  if (platform === 'darwin') return choicesFromInstaller(path, toolRoot);
  const opened = await openItemFile(path);
  try {
    const pkg = await named(path, readFlatPackage(opened.source));
    if (pkg.distribution === undefined) {
      throw new AppError('USAGE', `${path}: a component package has no installer choices`);
    }
    const xml = await named(path, pkg.archive.read('Distribution'));
    return choicesFromDistribution(xml, path);
  } finally {
    await opened.close();
  }
}

/** The selected state of each outline choice of a Distribution (see the module comment). */
export function choicesFromDistribution(xml: Uint8Array | string, what: string): InstallerChoice[] {
  const root = parseXml(xml, { what: `${what}: Distribution` });
  const choices = new Map(xmlChildren(root, 'choice').map((c) => [xmlAttribute(c, 'id'), c]));
  const out: InstallerChoice[] = [];
  for (const line of xmlDescendants(xmlChild(root, 'choices-outline'), 'line')) {
    const id = xmlAttribute(line, 'choice');
    const choice = id === undefined ? undefined : choices.get(id);
    if (id === undefined || choice === undefined) continue;
    let selected = true;
    for (const attr of ['start_selected', 'selected']) {
      const value = xmlAttribute(choice, attr)?.trim();
      if (value === undefined || value === 'true') continue;
      if (value !== 'false') {
        throw new AppError(
          'USAGE',
          `${what}: choice ${id} is selected by a script (${attr}="${value}"), which only macOS's installer can evaluate`,
          { hint: 'run makepkginfo --installer-choices-xml on a Mac' },
        );
      }
      selected = false;
    }
    out.push({
      attributeSetting: selected ? 1 : 0,
      choiceAttribute: 'selected',
      choiceIdentifier: id,
    });
  }
  return out;
}

async function choicesFromInstaller(path: string, toolRoot: string): Promise<InstallerChoice[]> {
  const argv = [join(toolRoot, 'usr/sbin/installer'), '-showChoiceChangesXML', '-pkg', path];
  const result = assertCommandSucceeded(argv, await runCommand(argv, { timeoutMs: 120_000 }));
  const start = result.stdout.indexOf('<?xml');
  const end = result.stdout.indexOf('</plist>');
  if (start === -1 || end === -1) {
    throw new AppError(
      'COMMAND_FAILED',
      `installer -showChoiceChangesXML printed no plist for ${path}`,
    );
  }
  const value = parsePlist(result.stdout.slice(start, end + '</plist>'.length), {
    source: 'installer -showChoiceChangesXML',
  });
  return (Array.isArray(value) ? value : [])
    .filter(isPlistDict)
    .filter((c) => c['choiceAttribute'] === 'selected') as InstallerChoice[];
}

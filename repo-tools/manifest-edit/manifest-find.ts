/**
 * `repo manifest find`: which manifests list an item, as Munki's manifestutil `find` searches
 * (a case-insensitive substring of each entry), but also inside conditional items, which
 * manifestutil does not look into.
 */
import { isPlistDict, type PlistDict } from '../../formats/index.js';
import { MANIFEST_SECTIONS, type ManifestSection } from '../../manifests/index.js';

/** One entry that matched. */
export interface ManifestMatch {
  manifest: string;
  section: ManifestSection | 'included_manifests';
  entry: string;
  /** The conditions around it, outermost first ([] at top level). */
  conditions: string[];
}

/** Every entry of `manifest` in `sections` containing `text`, ignoring case. */
export function findInManifest(
  name: string,
  manifest: PlistDict,
  text: string,
  sections: readonly ManifestMatch['section'][] = MANIFEST_SECTIONS,
): ManifestMatch[] {
  const needle = text.toUpperCase();
  const out: ManifestMatch[] = [];
  const visit = (dict: PlistDict, conditions: string[]): void => {
    for (const section of sections) {
      const list = dict[section];
      for (const entry of Array.isArray(list) ? list : []) {
        if (typeof entry === 'string' && entry.toUpperCase().includes(needle)) {
          out.push({ manifest: name, section, entry, conditions });
        }
      }
    }
    const items = dict['conditional_items'];
    for (const item of Array.isArray(items) ? items : []) {
      if (isPlistDict(item) && typeof item['condition'] === 'string') {
        visit(item, [...conditions, item['condition']]);
      }
    }
  };
  visit(manifest, []);
  return out;
}

/** One line per match: `name (section): entry`, with its conditions. */
export function formatMatch(match: ManifestMatch): string {
  const where = match.conditions.map((c) => ` [if ${c}]`).join('');
  return `${match.manifest} (${match.section}): ${match.entry}${where}`;
}

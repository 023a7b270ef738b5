/**
 * The components `installer` would install, in Distribution order (the choices-outline, else the
 * pkg-refs). Shared with the macOS installer, which lists the receipts an install will leave from
 * the same plan.
 *
 * Choices (`installer_choices_xml`): entries `{choiceIdentifier, choiceAttribute: "selected",
 * attributeSetting: 0|1|false|true}` select or deselect a Distribution `<choice>` (and so its
 * pkg-refs), and a bare string toggles a choice, as the old choices format did. Ignored, and said
 * so in the log: other attributes (`visible`, `enabled`, `customLocation`), unknown choice ids,
 * choices of a component package, and any JavaScript in the Distribution (a `selected` or
 * `start_selected` attribute counts as false only when it is literally `false`).
 */
import {
  isPlistDict,
  parseXml,
  xmlAttribute as attribute,
  xmlChild as child,
  xmlChildren as children,
  xmlDescendants as descendants,
  type FlatComponent,
  type FlatPackage,
  type PlistValue,
} from '../../../formats/index.js';
import {
  restartActionFromConclusion,
  restartActionFromPostinstall,
  strongerRestartAction,
} from '../restart-action.js';
import { AppError } from '../../../lib/errors.js';
import type { RestartAction } from '../platform.js';

/** A component chosen for installation, with the restart its PackageInfo and pkg-ref ask for. */
export interface PlannedComponent {
  component: FlatComponent;
  /** The stronger of PackageInfo `postinstall-action` and the pkg-ref's `onConclusion`. */
  restartAction: RestartAction;
}

/**
 * The components `installer` would install, in order, after applying `choicesXml` (see the module
 * comment for what is honoured). Notes about ignored choices go to `note`. Throws ARCHIVE_INVALID
 * when a selected pkg-ref names no component of this archive, or nothing is selected at all.
 */
export async function planComponents(
  pkg: FlatPackage,
  choicesXml: PlistValue | undefined,
  note: (line: string) => void,
): Promise<PlannedComponent[]> {
  if (pkg.kind === 'component' || pkg.distribution === undefined) {
    if (choicesXml !== undefined) note('choices ignored: a component package has no choices');
    return pkg.components.map((component) => ({
      component,
      restartAction: restartActionFromPostinstall(component.packageInfo.postinstallAction),
    }));
  }
  const root = parseXml(await pkg.archive.read('Distribution'), { what: 'Distribution' });
  const conclusions = new Map<string, RestartAction>();
  for (const ref of descendants(root, 'pkg-ref')) {
    const id = attribute(ref, 'id');
    const conclusion = attribute(ref, 'onConclusion');
    if (id !== undefined && conclusion !== undefined) {
      conclusions.set(
        id,
        strongerRestartAction(
          conclusions.get(id) ?? 'None',
          restartActionFromConclusion(conclusion),
        ),
      );
    }
  }

  const choices = new Map<string, { selected: boolean; refs: string[] }>();
  for (const choice of children(root, 'choice')) {
    const id = attribute(choice, 'id');
    if (id === undefined) continue;
    const isOff = (name: string): boolean => attribute(choice, name)?.trim() === 'false';
    choices.set(id, {
      selected: !(isOff('start_selected') || isOff('selected')),
      refs: descendants(choice, 'pkg-ref')
        .map((r) => attribute(r, 'id'))
        .filter((r): r is string => r !== undefined),
    });
  }
  applyChoiceChanges(choices, choicesXml, note);

  const order: string[] = [];
  const outline = child(root, 'choices-outline');
  if (outline !== undefined) {
    for (const line of descendants(outline, 'line')) {
      const choice = choices.get(attribute(line, 'choice') ?? '');
      if (choice?.selected === true) order.push(...choice.refs);
    }
  } else {
    const off = new Set<string>();
    const on = new Set<string>();
    for (const c of choices.values()) for (const r of c.refs) (c.selected ? on : off).add(r);
    for (const ref of pkg.distribution.pkgRefs) {
      if (!off.has(ref.id) || on.has(ref.id)) order.push(ref.id);
    }
  }

  const refs = new Map(pkg.distribution.pkgRefs.map((r) => [r.id, r]));
  const byPath = new Map(pkg.components.map((c) => [c.path, c]));
  const planned: PlannedComponent[] = [];
  for (const id of new Set(order)) {
    const ref = refs.get(id);
    const component = ref?.componentPath === undefined ? undefined : byPath.get(ref.componentPath);
    if (component === undefined) {
      throw new AppError(
        'ARCHIVE_INVALID',
        `Distribution selects package ${id}, which is not a component of this archive`,
      );
    }
    planned.push({
      component,
      restartAction: strongerRestartAction(
        restartActionFromPostinstall(component.packageInfo.postinstallAction),
        conclusions.get(id) ?? 'None',
      ),
    });
  }
  if (planned.length === 0) {
    throw new AppError('ARCHIVE_INVALID', 'no component of the package is selected for install');
  }
  return planned;
}

/** Applies installer_choices_xml entries to the Distribution's choices. */
function applyChoiceChanges(
  choices: Map<string, { selected: boolean; refs: string[] }>,
  changes: PlistValue | undefined,
  note: (line: string) => void,
): void {
  if (changes === undefined) return;
  if (!Array.isArray(changes)) {
    note('choices ignored: installer_choices_xml is not an array');
    return;
  }
  for (const change of changes) {
    if (typeof change === 'string') {
      const choice = choices.get(change);
      if (choice === undefined) note(`choice ${change} ignored: no such choice`);
      else choice.selected = !choice.selected;
      continue;
    }
    if (!isPlistDict(change)) {
      note('choice change ignored: neither a dict nor a choice identifier');
      continue;
    }
    const id = change['choiceIdentifier'];
    const attr = change['choiceAttribute'];
    const setting = change['attributeSetting'];
    if (typeof id !== 'string') {
      note('choice change ignored: no choiceIdentifier');
      continue;
    }
    if (attr !== 'selected') {
      note(`choice ${id}: attribute ${String(attr)} ignored (only "selected" is applied)`);
      continue;
    }
    const choice = choices.get(id);
    if (choice === undefined) {
      note(`choice ${id} ignored: no such choice`);
      continue;
    }
    if (typeof setting === 'boolean') choice.selected = setting;
    else if (typeof setting === 'number' || typeof setting === 'bigint') {
      choice.selected = Number(setting) !== 0;
    } else note(`choice ${id}: attributeSetting ${String(setting)} ignored`);
  }
}

/**
 * The readable summary `abbot check` prints: what will be installed or removed, Apple's updates,
 * what is offered, and what is wrong.
 */
import type { CheckOutcome } from './run-check.js';

function version(item: { version_to_install?: string; installed_version?: string }): string {
  return item.version_to_install ?? item.installed_version ?? '';
}

/** Formats a check's outcome as lines for a terminal. */
export function formatCheck(outcome: CheckOutcome): string {
  const { plan } = outcome;
  const lines = [
    `Manifest: ${outcome.manifest} (catalogs: ${outcome.catalogs.join(', ') || 'none'})`,
  ];
  const section = (title: string, rows: string[]): void => {
    if (rows.length === 0) return;
    lines.push('', `${title}:`, ...rows);
  };
  section(
    'Will install',
    plan.managedInstalls.map((i) => {
      const flags = [
        i.unattended_install ? 'unattended' : '',
        typeof i['RestartAction'] === 'string' && i['RestartAction'] !== 'None'
          ? String(i['RestartAction'])
          : '',
      ]
        .filter(Boolean)
        .join(', ');
      return `  + ${i.name} ${version(i)}  (${i.reason})${flags ? ` [${flags}]` : ''}`;
    }),
  );
  section(
    'Will remove',
    plan.removals.map(
      (i) =>
        `  - ${i.name} ${version(i)}  (${i.reason})${i.unattended_uninstall ? ' [unattended]' : ''}`,
    ),
  );
  section(
    'Apple software updates',
    (plan.appleUpdates ?? []).map((u) => {
      const flags = [u.restartRequired ? 'restart' : '', u.kind === 'major' ? 'major upgrade' : '']
        .filter(Boolean)
        .join(', ');
      // softwareupdate's titles often carry the version already ("macOS Ventura 13.6").
      const name = u.title.endsWith(` ${u.version}`) ? u.title : `${u.title} ${u.version}`;
      return `  + ${name}  (${u.label})${flags ? ` [${flags}]` : ''}`;
    }),
  );
  section(
    'Optional software',
    plan.optionalInstalls.map((i) => {
      const state = i.will_be_installed
        ? 'will be installed'
        : i.will_be_removed
          ? 'will be removed'
          : i.installed
            ? i.needs_update
              ? 'update available'
              : 'installed'
            : 'not installed';
      return `  ${i.name} ${i.version_to_install}  [${state}]${i.note ? ` ${i.note}` : ''}`;
    }),
  );
  section(
    'Problems',
    plan.problemItems.map(
      (i) => `  ! ${i.name}: ${typeof i.note === 'string' ? i.note : i.reason}`,
    ),
  );
  section(
    'Warnings',
    outcome.warnings.map((w) => `  ${w}`),
  );
  const apple = plan.appleUpdates?.length ?? 0;
  const work = plan.managedInstalls.length + plan.removals.length + apple;
  const appleCount = apple === 0 ? '' : `, ${apple} Apple update${apple === 1 ? '' : 's'}`;
  lines.push(
    '',
    work === 0
      ? 'Nothing to do.'
      : `${plan.managedInstalls.length} to install, ${plan.removals.length} to remove${appleCount}.`,
  );
  return lines.join('\n') + '\n';
}

/** `abbot bootstrap --status`: whether bootstrap mode is set, its passes, and how the last ended. */
import type { BootstrapPass, BootstrapResult, BootstrapState } from './bootstrap-flag.js';

function passLine(p: BootstrapPass): string {
  const left = p.remaining.installs + p.remaining.removals;
  const failed = p.failed.map((f) => `${f.name} (${f.reason})`).join(', ');
  return (
    `  pass ${p.pass} at ${p.startedAt}: ${p.status}, ${p.installed.length} done, ` +
    `${p.failed.length} failed${failed ? ` [${failed}]` : ''}, ${left} left` +
    `${p.checkFailed ? ', check failed' : ''}${p.restartRequested ? ', restart' : ''}`
  );
}

/** The status as text. */
export function formatBootstrapStatus(
  state: BootstrapState | undefined,
  last: BootstrapResult | undefined,
  maxPasses: number,
): string {
  const lines: string[] = [];
  if (state) {
    lines.push(
      `Bootstrap mode is set (since ${state.setAt}); ${state.passes.length} of at most ${maxPasses} passes made.`,
    );
    lines.push(...state.passes.map(passLine));
  } else {
    lines.push('Bootstrap mode is not set.');
  }
  if (last) {
    lines.push(
      `Last bootstrap: ${last.outcome} at ${last.finishedAt} after ${last.passes.length} pass(es)` +
        (last.reason ? ` (${last.reason})` : '') +
        '.',
    );
    for (const f of last.failures) lines.push(`  failed: ${f.name}: ${f.reason}`);
  }
  return lines.join('\n') + '\n';
}

// Shared helpers for benchmarks: timing whole processes, printing one line per figure.
import { spawnSync } from 'node:child_process';

/** Runs a command and returns its wall time in seconds; throws if it fails. */
export function timeCommand(cmd, args, options = {}) {
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.status !== 0 && !options.allowFailure) {
    throw new Error(
      `${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr?.toString().slice(-2000)}`,
    );
  }
  return {
    seconds,
    stdout: r.stdout?.toString() ?? '',
    stderr: r.stderr?.toString() ?? '',
    status: r.status,
  };
}

/** Prints one figure as `name value unit`, the format `npm run bench` promises. */
export function figure(name, value, unit, note = '') {
  const v =
    typeof value === 'number'
      ? Number.isInteger(value)
        ? String(value)
        : value.toFixed(3)
      : value;
  console.log(`${name} ${v} ${unit}${note ? `  # ${note}` : ''}`);
}

/** Best (minimum) of `n` runs of `fn`, which returns seconds. */
export function bestOf(n, fn) {
  let best = Infinity;
  for (let i = 0; i < n; i++) best = Math.min(best, fn());
  return best;
}

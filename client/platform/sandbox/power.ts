/**
 * The sandbox's stand-in for `pmset -g batt`: machine.plist's `power_source` (`AC Power` or
 * `Battery Power`, as pmset names them) and `battery_percent` (0–100). A machine.plist without
 * them is a desktop on mains power, the sandbox's documented default.
 */
import { readFile } from 'node:fs/promises';
import { isPlistDict, parsePlist } from '../../../formats/index.js';
import type { AbbotPaths, PowerState } from '../platform.js';

/** The sandbox machine's power state. */
export async function readSandboxPower(
  paths: Pick<AbbotPaths, 'machinePlist'>,
): Promise<PowerState> {
  const machine = await readFile(paths.machinePlist).then(
    (b) => parsePlist(b, { source: paths.machinePlist }),
    () => undefined,
  );
  if (!isPlistDict(machine)) return { source: 'ac' };
  const source = machine['power_source'];
  const percent = machine['battery_percent'];
  const state: PowerState = {
    source:
      source === undefined || source === 'AC Power'
        ? 'ac'
        : source === 'Battery Power'
          ? 'battery'
          : 'unknown',
  };
  if (typeof percent === 'number' && percent >= 0 && percent <= 100) state.batteryPercent = percent;
  return state;
}

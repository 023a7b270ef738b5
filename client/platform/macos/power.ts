/**
 * The power source from `pmset -g batt`, whose output is a header naming the source and, on a
 * laptop, one line per internal battery:
 *   Now drawing from 'Battery Power'
 *    -InternalBattery-0 (id=5374051)	95%; discharging; 3:06 remaining present: true
 * A desktop prints only the header (`Now drawing from 'AC Power'`). A UPS line
 * (`-CyberPower…`) is not the Mac's battery and is ignored.
 */
import type { PowerState } from '../platform.js';

/** The power state in `pmset -g batt` output; `unknown` when it names no source. */
export function parsePmsetBatt(text: string): PowerState {
  const header = /Now drawing from '([^']+)'/.exec(text)?.[1];
  const source =
    header === undefined
      ? 'unknown'
      : /battery/i.test(header)
        ? 'battery'
        : /ac power/i.test(header)
          ? 'ac'
          : 'unknown';
  const percent = /^\s*-InternalBattery-\d+[^\n]*?\s(\d{1,3})%/m.exec(text)?.[1];
  const state: PowerState = { source };
  if (percent !== undefined) state.batteryPercent = Math.min(100, Number.parseInt(percent, 10));
  return state;
}

/** A stand-in for the daemon's deadline timer: tests fire it by hand instead of waiting. */
import type { SetTimer } from '../../../client/daemon/deadline-wake.js';

/** A timer the test fires by hand; it records every delay asked for. */
export function manualTimer() {
  const armed: { delayMs: number; fire: () => void; cancelled: boolean }[] = [];
  const setTimer: SetTimer = (fire, delayMs) => {
    const entry = { delayMs, fire, cancelled: false };
    armed.push(entry);
    return () => {
      entry.cancelled = true;
    };
  };
  return {
    setTimer,
    armed,
    /** The timers still waiting. */
    live: () => armed.filter((t) => !t.cancelled),
    /** Fires the one live timer, as its delay passing would. */
    fire() {
      const live = armed.filter((t) => !t.cancelled);
      if (live.length !== 1) throw new Error(`${live.length} live timers`);
      live[0]!.cancelled = true;
      live[0]!.fire();
    },
  };
}

/**
 * Bootstrap waits for the network before its first pass, as Munki does at startup (up to 60 s):
 * right after boot, Wi-Fi or the VPN may not be up yet, and a check that fails for that reason
 * would waste a pass. "Up" means the repo's server accepts a TCP connection.
 */
import { connect } from 'node:net';

/** What `waitForNetwork` needs. */
export interface NetworkWaitOptions {
  /** The repo URL whose host must be reachable (file:// URLs need no network). */
  url: string;
  /** Give up after this long (default 60 s). */
  timeoutMs?: number;
  /** Pause between tries (default 1 s). */
  intervalMs?: number;
}

/** Resolves true once the repo's host accepts a connection, false when `timeoutMs` ran out. */
export async function waitForNetwork(options: NetworkWaitOptions): Promise<boolean> {
  const url = new URL(options.url);
  if (url.protocol === 'file:') return true;
  const port = url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  // URL keeps brackets around IPv6 literals; net.connect wants the bare address.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  const interval = options.intervalMs ?? 1_000;
  for (;;) {
    const left = deadline - Date.now();
    if (await canConnect(host, port, Math.max(1, Math.min(left, 5_000)))) return true;
    if (Date.now() + interval >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}

function canConnect(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

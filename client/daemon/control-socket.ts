/**
 * The daemon's control channel: a unix socket in the state folder (mode 0600, so only root, the
 * daemon's user, can connect) speaking line-delimited JSON. `abbot run --auto` and `abbot
 * bootstrap --set` use it so that the daemon, which owns the one run queue, does the work; when
 * nothing listens the CLI works by itself under the run lock.
 *
 * Requests, one per connection:
 *   {"type":"run","reason":"cli"|"selfservice","items":[…]}
 *     → {"type":"accepted"}, {"type":"output","stream":"stdout"|"stderr","text":…}…, then
 *       {"type":"done","outcome":{…RunOutcome}}
 *   {"type":"bootstrap"} → {"type":"done"}  (starts bootstrap now when its flag is set)
 * Anything else gets {"type":"error","message":…} and the connection is closed.
 */
import { chmod, unlink } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { AppError, describeError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { AbbotPaths } from '../platform/platform.js';
import type { OutputListener, RunOutcome, RunRequest } from './run-coordinator.js';

/** `<state>/daemon.sock`. */
export function controlSocketPath(paths: Pick<AbbotPaths, 'stateDir'>): string {
  return join(paths.stateDir, 'daemon.sock');
}

/** What the daemon does for each request. */
export interface ControlHandlers {
  run(request: RunRequest, onOutput: OutputListener): Promise<RunOutcome>;
  startBootstrap(): void;
}

/** A message on the control channel. */
export type ControlMessage =
  | { type: 'accepted' }
  | { type: 'output'; stream: 'stdout' | 'stderr'; text: string }
  | { type: 'done'; outcome?: RunOutcome }
  | { type: 'error'; message: string };

/** The listening control channel. */
export interface ControlServer {
  path: string;
  close(): Promise<void>;
}

// A request is a few hundred bytes; anything far larger is not a client of ours.
const MAX_REQUEST_BYTES = 64 * 1024;
const MAX_ITEMS = 1000;
const CONNECT_TIMEOUT_MS = 2_000;

/** Listens on `path`; ALREADY_RUNNING when another daemon answers there. */
export async function listenControlSocket(
  path: string,
  handlers: ControlHandlers,
  logger: Logger,
): Promise<ControlServer> {
  if (await isListening(path)) {
    throw new AppError('ALREADY_RUNNING', `another abbot daemon is listening on ${path}`, {
      hint: 'stop it first (launchctl bootout system/org.abbot.daemon)',
    });
  }
  // Left by a daemon that was killed: nothing answers on it.
  await unlink(path).catch(() => {});
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    serve(socket, handlers, logger);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await chmod(path, 0o600);
  return {
    path,
    close: () => closeServer(server, sockets, path),
  };
}

async function closeServer(server: Server, sockets: Set<Socket>, path: string): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  for (const s of sockets) s.destroy();
  await closed;
  await unlink(path).catch(() => {});
}

/** Handles one connection: one request line, answered with messages until done. */
function serve(socket: Socket, handlers: ControlHandlers, logger: Logger): void {
  let buffered = '';
  let isHandled = false;
  const send = (message: ControlMessage): void => {
    if (!socket.destroyed) socket.write(`${JSON.stringify(message)}\n`);
  };
  const fail = (message: string): void => {
    send({ type: 'error', message });
    socket.end();
  };
  socket.setEncoding('utf8');
  socket.on('error', () => {}); // a client that went away mid-answer
  socket.on('data', (chunk: string) => {
    if (isHandled) return;
    buffered += chunk;
    const newline = buffered.indexOf('\n');
    if (newline < 0) {
      if (buffered.length > MAX_REQUEST_BYTES) {
        isHandled = true;
        fail('request too long');
      }
      return;
    }
    isHandled = true;
    let request: ReturnType<typeof parseRequest>;
    try {
      request = parseRequest(buffered.slice(0, newline));
    } catch (e) {
      fail(describeError(e));
      return;
    }
    if (request.type === 'bootstrap') {
      handlers.startBootstrap();
      send({ type: 'done' });
      socket.end();
      return;
    }
    send({ type: 'accepted' });
    handlers
      .run(request.run, (stream, text) => send({ type: 'output', stream, text }))
      .then(
        (outcome) => {
          send({ type: 'done', outcome });
          socket.end();
        },
        (e: unknown) => {
          logger.error('daemon.control.failed', `control request failed: ${describeError(e)}`);
          fail(describeError(e));
        },
      );
  });
}

/** Validates one request line; plain Error with the reason otherwise. */
function parseRequest(line: string): { type: 'run'; run: RunRequest } | { type: 'bootstrap' } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new Error('request is not JSON');
  }
  if (typeof value !== 'object' || value === null) throw new Error('request is not an object');
  const v = value as Record<string, unknown>;
  if (v['type'] === 'bootstrap') return { type: 'bootstrap' };
  if (v['type'] !== 'run') throw new Error(`unknown request type ${JSON.stringify(v['type'])}`);
  const reason = v['reason'];
  if (reason !== 'cli' && reason !== 'selfservice') {
    throw new Error('reason must be "cli" or "selfservice"');
  }
  const items = v['items'] ?? [];
  if (
    !Array.isArray(items) ||
    items.length > MAX_ITEMS ||
    !items.every((i): i is string => typeof i === 'string' && i.length > 0 && i.length < 256)
  ) {
    throw new Error(`items must be a list of at most ${MAX_ITEMS} names`);
  }
  return { type: 'run', run: { reason, items } };
}

/** True when something accepts connections on the socket at `path`. */
async function isListening(path: string): Promise<boolean> {
  try {
    const socket = await connect(path);
    socket.destroy();
    return true;
  } catch {
    return false;
  }
}

function connect(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' }));
    }, CONNECT_TIMEOUT_MS);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/**
 * Sends one request to the daemon and hands each answer to `onMessage`; resolves with the final
 * `done` message, or undefined when no daemon listens at `path` (the caller then works itself).
 */
export async function callDaemon(
  path: string,
  request:
    | { type: 'run'; reason: 'cli' | 'selfservice'; items?: readonly string[] }
    | {
        type: 'bootstrap';
      },
  onMessage: (message: ControlMessage) => void = () => {},
): Promise<Extract<ControlMessage, { type: 'done' }> | undefined> {
  let socket: Socket;
  try {
    socket = await connect(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ECONNREFUSED') return undefined;
    throw new AppError(
      'IO',
      `cannot reach the abbot daemon at ${path}: ${code ?? describeError(e)}`,
      {
        ...(code === 'EACCES'
          ? { hint: 'the daemon takes requests from root only: use sudo' }
          : {}),
        cause: e,
      },
    );
  }
  return new Promise((resolve, reject) => {
    let buffered = '';
    let done: Extract<ControlMessage, { type: 'done' }> | undefined;
    let failure: string | undefined;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        let message: ControlMessage;
        try {
          message = JSON.parse(line) as ControlMessage;
        } catch {
          failure = 'the daemon sent something that is not JSON';
          socket.destroy();
          return;
        }
        if (message.type === 'done') done = message;
        else if (message.type === 'error') failure = message.message;
        onMessage(message);
      }
    });
    socket.on('error', (e) => {
      failure ??= describeError(e);
    });
    socket.on('close', () => {
      if (done) resolve(done);
      else {
        reject(
          new AppError(
            'IO',
            `the abbot daemon at ${path} ${failure ? `refused the request: ${failure}` : 'closed the connection before answering'}`,
          ),
        );
      }
    });
    socket.write(`${JSON.stringify(request)}\n`);
  });
}

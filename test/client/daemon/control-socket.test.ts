import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  callDaemon,
  listenControlSocket,
  type ControlHandlers,
  type ControlMessage,
  type ControlServer,
} from '../../../client/daemon/control-socket.js';
import type { RunRequest } from '../../../client/daemon/run-coordinator.js';
import { isAppError } from '../../../lib/errors.js';
import { memoryLogger } from '../../../lib/log.js';

const dirs: string[] = [];
const servers: ControlServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function socketPath(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'abbot-sock-'));
  dirs.push(dir);
  return join(dir, 'daemon.sock');
}

function handlers(requests: RunRequest[], bootstraps: number[] = []): ControlHandlers {
  return {
    run: async (request, onOutput) => {
      requests.push(request);
      onOutput('stdout', 'Install of Hello World-1.0: SUCCESSFUL\n');
      onOutput('stderr', 'a warning\n');
      return { id: 7, status: 'ok', exitCode: 0, reasons: [request.reason], items: [] };
    },
    startBootstrap: () => bootstraps.push(1),
  };
}

async function listen(path: string, h: ControlHandlers): Promise<ControlServer> {
  const server = await listenControlSocket(path, h, memoryLogger());
  servers.push(server);
  return server;
}

/** Sends a raw line and collects the answer lines until the server closes. */
function rawRequest(path: string, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = '';
    const socket = createConnection(path, () => socket.write(line));
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (answer += d));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

describe('control socket', () => {
  it('is a socket only its owner can use (0600)', async () => {
    const path = await socketPath();
    await listen(path, handlers([]));
    const s = await stat(path);
    expect(s.isSocket()).toBe(true);
    expect(s.mode & 0o777).toBe(0o600);
  });

  it('runs a request and streams the output back before the outcome', async () => {
    const path = await socketPath();
    const requests: RunRequest[] = [];
    await listen(path, handlers(requests));
    const messages: ControlMessage[] = [];
    const done = await callDaemon(
      path,
      { type: 'run', reason: 'selfservice', items: ['Firefox'] },
      (m) => messages.push(m),
    );
    expect(requests).toEqual([{ reason: 'selfservice', items: ['Firefox'] }]);
    expect(messages.map((m) => m.type)).toEqual(['accepted', 'output', 'output', 'done']);
    expect(done?.outcome).toMatchObject({ id: 7, status: 'ok' });
  });

  it('starts bootstrap when asked', async () => {
    const path = await socketPath();
    const bootstraps: number[] = [];
    await listen(path, handlers([], bootstraps));
    expect(await callDaemon(path, { type: 'bootstrap' })).toEqual({ type: 'done' });
    expect(bootstraps).toEqual([1]);
  });

  it.each([
    ['not JSON', 'run please\n', 'request is not JSON'],
    ['an unknown type', '{"type":"shell","command":"id"}\n', 'unknown request type "shell"'],
    ['a reason only the daemon may use', '{"type":"run","reason":"bootstrap"}\n', 'reason must be'],
    ['items that are not names', '{"type":"run","reason":"cli","items":[1]}\n', 'items must be'],
  ])('answers %s with an error and runs nothing', async (_what, line, message) => {
    const path = await socketPath();
    const requests: RunRequest[] = [];
    await listen(path, handlers(requests));
    const answer = JSON.parse((await rawRequest(path, line)).trim()) as ControlMessage;
    expect(answer.type).toBe('error');
    expect((answer as { message: string }).message).toContain(message);
    expect(requests).toEqual([]);
  });

  it('says no daemon is there when nothing listens (the CLI then runs by itself)', async () => {
    const path = await socketPath();
    expect(await callDaemon(path, { type: 'run', reason: 'cli' })).toBeUndefined();
  });

  it('refuses to start a second daemon on a socket that answers', async () => {
    const path = await socketPath();
    await listen(path, handlers([]));
    const error = await listenControlSocket(path, handlers([]), memoryLogger()).catch((e) => e);
    expect(isAppError(error, 'ALREADY_RUNNING')).toBe(true);
    expect((error as Error).message).toContain(path);
  });

  it('replaces a socket file left by a killed daemon', async () => {
    const path = await socketPath();
    await writeFile(path, '');
    await listen(path, handlers([]));
    expect((await callDaemon(path, { type: 'run', reason: 'cli' }))?.outcome?.status).toBe('ok');
  });

  it('names the socket when the daemon closes without an answer', async () => {
    const path = await socketPath();
    await listen(path, {
      run: () => Promise.reject(new Error('state.json is locked')),
      startBootstrap: () => {},
    });
    const error = await callDaemon(path, { type: 'run', reason: 'cli' }).catch((e) => e);
    expect(isAppError(error, 'IO')).toBe(true);
    expect((error as Error).message).toContain(path);
    expect((error as Error).message).toContain('state.json is locked');
  });
});

/**
 * What the serve and nginx tests ask of a repo server: raw HTTPS requests (node:https sends the
 * path exactly as given, so `..` reaches the server) and a real check-in + install of the example
 * repo into a sandbox root.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { expect } from 'vitest';
import { parsePlist, type PlistDict } from '../../formats/index.js';
import { abbotCli } from '../helpers/cli.js';
import { makeSandboxRoot } from '../helpers/sandbox-root.js';

/** One answer, body read whole. */
export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Sends `method path` to 127.0.0.1:`port` over HTTPS for host `localhost`, trusting `ca`. */
export function requestOnce(
  port: number,
  ca: Buffer,
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const options = { host: '127.0.0.1', servername: 'localhost', port, path, method, headers, ca };
    https
      .request({ ...options, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
          }),
        );
      })
      .on('error', reject)
      .end();
  });
}

/**
 * Checks in against the example repo at `url` (trusting `caCert`) as site_default on a laptop,
 * expects its plan, then runs `abbot run --auto` and expects Hello World installed. Returns the
 * sandbox root, for the caller to remove.
 */
export async function checkInAndInstallExample(url: string, caCert: string): Promise<string> {
  const root = await makeSandboxRoot({
    machine: { machine_type: 'laptop' },
    preferences: { SoftwareRepoCACertificate: caCert, HttpRetries: 0 },
  });
  const common = ['--root', root, '--repo-url', url, '--client-id', 'site_default'];
  const check = await abbotCli(['check', '--json', ...common]);
  expect(check.stderr).toBe('');
  expect(check.code).toBe(0);
  const plan = JSON.parse(check.stdout) as { installs: { name: string }[] };
  expect(plan.installs.map((i) => i.name)).toEqual([
    'DockDefaults',
    'HelloWorld',
    'HelloWorldSettings',
  ]);
  // What launchd runs: a check, then the installs (nobody is logged in to the sandbox).
  const run = await abbotCli(['run', '--auto', ...common]);
  expect(run.stdout).toContain('Install of Hello World-1.0: SUCCESSFUL');
  expect(run.code).toBe(0);
  const info = parsePlist(
    await readFile(join(root, 'Applications/Hello World.app/Contents/Info.plist')),
  ) as PlistDict;
  expect(info['CFBundleShortVersionString']).toBe('1.0');
  return root;
}

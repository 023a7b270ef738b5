/** The self-service server reminds the console user of pending updates (the daemon runs it). */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryLogger } from '../../../lib/log.js';
import { runCheck } from '../../../client/check/run-check.js';
import { notificationLogPath } from '../../../client/notify/notify-user.js';
import { startSelfService } from '../../../client/selfservice/server.js';
import { makeSelfServiceWorld, type SelfServiceWorld } from './fixture.js';

let world: SelfServiceWorld;
beforeAll(async () => {
  world = await makeSelfServiceWorld({ manifest: { managed_installs: ['Notepad'] } });
  await runCheck({ platform: world.platform, config: world.config, logger: memoryLogger() });
});
afterAll(() => world?.cleanup());

describe('reminders', () => {
  it('tells the console user about pending updates once, however often it starts', async () => {
    for (let i = 0; i < 2; i++) {
      const service = await startSelfService({
        platform: world.platform,
        config: world.config,
        logger: memoryLogger(),
        port: 0,
        requestRun: () => Promise.resolve(),
      });
      await service.close();
    }
    const lines = (await readFile(notificationLogPath(world.platform.paths), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string; title: string; items: string[] });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      kind: 'updates-pending',
      title: 'A software update is available',
      items: ['Notepad'],
    });
  });
});

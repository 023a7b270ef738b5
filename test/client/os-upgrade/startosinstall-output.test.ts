import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  lineSplitter,
  parseStartosinstallLine,
} from '../../../client/os-upgrade/startosinstall-output.js';
import { FIXTURES } from './fake-installer.js';

const fixture = (name: string): Promise<string> => readFile(join(FIXTURES, name), 'utf8');

describe('parseStartosinstallLine', () => {
  it.each([
    ['Preparing: 42.5%', [{ kind: 'progress', percent: 42.5 }]],
    ['Preparing: 0.0%            ', [{ kind: 'progress', percent: 0 }]],
    [
      'Preparing to run macOS Installer...',
      [{ kind: 'status', text: 'Preparing to run macOS Installer...' }],
    ],
    ['Waiting to reboot', [{ kind: 'restarting', text: 'Waiting to reboot' }]],
    ['Waiting to restart', [{ kind: 'restarting', text: 'Waiting to restart' }]],
    [
      'System going down for install',
      [{ kind: 'restarting', text: 'System going down for install' }],
    ],
    [
      'Error: could not get authorization...',
      [{ kind: 'error', text: 'Error: could not get authorization...' }],
    ],
    ['If you do not agree, press CTRL-C and cancel this process immediately.', [{ kind: 'noise' }]],
    ['Helper tool crashed', [{ kind: 'noise' }]],
    ['   ', []],
    ['Preparing: 104.3%', [{ kind: 'progress', percent: 100 }]],
  ])('reads %j', (line, events) => {
    expect(parseStartosinstallLine(line)).toEqual(events);
  });

  it('reads every progress report on a line that holds several (recorded)', async () => {
    const text = await fixture('progress-one-line.txt');
    expect(parseStartosinstallLine(text)).toEqual(
      [46, 46.1, 46.2, 46.3].map((percent) => ({ kind: 'progress', percent })),
    );
  });

  it('finds progress, status and no error in a recorded preparing run', async () => {
    const kinds = (await fixture('preparing.txt'))
      .split('\n')
      .flatMap(parseStartosinstallLine)
      .map((e) => e.kind);
    expect(kinds.filter((k) => k === 'progress')).toHaveLength(12);
    expect(kinds).toContain('status');
    expect(kinds).not.toContain('error');
  });

  it('reads the recorded Apple silicon authorisation failure as an error', async () => {
    const events = (await fixture('failed-to-authorize.txt'))
      .split('\n')
      .flatMap(parseStartosinstallLine);
    expect(events[0]).toEqual({
      kind: 'error',
      text: 'Error: failed to authorize for installation. Provide a password with --stdinpass or --passprompt.',
    });
  });
});

describe('lineSplitter', () => {
  it('joins lines split across chunks and treats carriage returns as line ends', () => {
    const lines: string[] = [];
    const s = lineSplitter((l) => lines.push(l));
    s.push('Prepar');
    s.push('ing: 1.0%\rPreparing: 2.0%\r\nWaiting');
    s.push(' to reboot');
    s.end();
    expect(lines).toEqual(['Preparing: 1.0%', 'Preparing: 2.0%', 'Waiting to reboot']);
  });
});

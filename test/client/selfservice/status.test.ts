/** An optional item's status and buttons, from the offer, the user's choice, the run and history. */
import { describe, expect, it } from 'vitest';
import type { PlistDict } from '../../../formats/index.js';
import {
  itemActions,
  itemStatus,
  statusText,
  type ItemActivity,
  type LastAttempt,
} from '../../../client/selfservice/status.js';

const offer = (extra: PlistDict = {}): PlistDict => ({
  name: 'Tool',
  installed: false,
  needs_update: false,
  uninstallable: true,
  ...extra,
});
const failedInstall: LastAttempt = { action: 'install', result: 'failed', error: 'disk full' };
const failedRemoval: LastAttempt = { action: 'removal', result: 'failed', error: 'busy' };
const running: ItemActivity = { action: 'install', detail: 'Downloading', percent: 40 };

describe('itemStatus', () => {
  it.each<
    [
      string,
      PlistDict,
      boolean | undefined,
      ItemActivity | undefined,
      LastAttempt | undefined,
      string,
    ]
  >([
    ['not installed, not chosen', offer(), undefined, undefined, undefined, 'Not installed'],
    ['installed', offer({ installed: true }), undefined, undefined, undefined, 'Installed'],
    [
      'an update',
      offer({ installed: true, needs_update: true }),
      undefined,
      undefined,
      undefined,
      'Update available',
    ],
    ['chosen since the last check', offer(), true, undefined, undefined, 'Will be installed'],
    [
      'planned by the check',
      offer({ will_be_installed: true }),
      undefined,
      undefined,
      undefined,
      'Will be installed',
    ],
    ['removal chosen', offer({ installed: true }), false, undefined, undefined, 'Will be removed'],
    [
      'removal planned',
      offer({ installed: true, will_be_removed: true }),
      undefined,
      undefined,
      undefined,
      'Will be removed',
    ],
    ['being installed, with progress', offer(), true, running, undefined, 'Installing… 40%'],
    [
      'being removed',
      offer({ installed: true }),
      false,
      { action: 'removal' },
      undefined,
      'Removing…',
    ],
    ['a failed install', offer(), true, undefined, failedInstall, 'Install failed: disk full'],
    [
      'a failed update',
      offer({ installed: true, needs_update: true }),
      true,
      undefined,
      failedInstall,
      'Install failed: disk full',
    ],
    [
      'a failed removal',
      offer({ installed: true }),
      false,
      undefined,
      failedRemoval,
      'Removal failed: busy',
    ],
    [
      'a request that never ran',
      offer(),
      true,
      { action: 'install', error: 'run refused' },
      undefined,
      'Install failed: run refused',
    ],
    [
      'an old failure, since installed',
      offer({ installed: true }),
      true,
      undefined,
      failedInstall,
      'Installed',
    ],
    [
      're-chosen after removal was planned',
      offer({ installed: true, will_be_removed: true }),
      true,
      undefined,
      undefined,
      'Installed',
    ],
  ])('%s', (_what, o, choice, activity, lastAttempt, text) => {
    expect(statusText(itemStatus({ offer: o, choice, activity, lastAttempt }))).toBe(text);
  });
});

describe('itemActions', () => {
  it.each<[string, PlistDict, boolean | undefined, ItemActivity | undefined, string[]]>([
    ['install when not installed', offer(), undefined, undefined, ['install']],
    [
      'nothing when a note says why not',
      offer({ note: 'Requires macOS 15.' }),
      undefined,
      undefined,
      [],
    ],
    [
      'remove when installed and uninstallable',
      offer({ installed: true }),
      undefined,
      undefined,
      ['remove'],
    ],
    [
      'nothing when installed and not uninstallable',
      offer({ installed: true, uninstallable: false }),
      undefined,
      undefined,
      [],
    ],
    [
      'update or remove for an update',
      offer({ installed: true, needs_update: true }),
      undefined,
      undefined,
      ['install', 'remove'],
    ],
    ['cancel (remove) a pending install', offer(), true, undefined, ['remove']],
    ['keep (install) a pending removal', offer({ installed: true }), false, undefined, ['install']],
    ['nothing while it runs', offer(), true, running, []],
  ])('%s', (_what, o, choice, activity, actions) => {
    expect(itemActions(itemStatus({ offer: o, choice, activity }), o)).toEqual(actions);
  });
});

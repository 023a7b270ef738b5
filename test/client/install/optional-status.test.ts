/** optional_installs in InstallInfo.plist after a session, as Munki's installer updates them. */
import { describe, expect, it } from 'vitest';
import { updateOptionalInstalls } from '../../../client/install/optional-status.js';

const offer = { name: 'Tool', version_to_install: '2.0', installed: false, needs_update: false };

describe('updateOptionalInstalls', () => {
  it('marks a successful install installed and no longer pending', () => {
    const [after] = updateOptionalInstalls(
      [{ ...offer, will_be_installed: true }],
      [{ name: 'Tool', version: '2.0', action: 'install', result: 'success' }],
    );
    expect(after).toMatchObject({ installed: true, needs_update: false, will_be_installed: false });
  });

  it('flags a failed install with install_error', () => {
    const [after] = updateOptionalInstalls(
      [offer],
      [{ name: 'Tool', version: '2.0', action: 'install', result: 'failed' }],
    );
    expect(after).toMatchObject({
      installed: false,
      install_error: true,
      will_be_installed: false,
    });
  });

  it('marks a successful removal not installed', () => {
    const [after] = updateOptionalInstalls(
      [{ ...offer, installed: true, will_be_removed: true }],
      [{ name: 'Tool', version: '2.0', action: 'removal', result: 'success' }],
    );
    expect(after).toMatchObject({ installed: false, will_be_removed: false });
  });

  it('never marks an OnDemand item installed', () => {
    const [after] = updateOptionalInstalls(
      [{ ...offer, OnDemand: true }],
      [{ name: 'Tool', version: '2.0', action: 'install', result: 'success' }],
    );
    expect(after?.['installed']).toBe(false);
  });

  it('leaves other items, other versions and skipped attempts alone', () => {
    const list = [offer, { ...offer, name: 'Other' }];
    const attempts = [
      { name: 'Tool', version: '1.0', action: 'install' as const, result: 'success' as const },
      { name: 'Other', version: '2.0', action: 'install' as const, result: 'skipped' as const },
    ];
    expect(updateOptionalInstalls(list, attempts)).toEqual(list);
  });
});

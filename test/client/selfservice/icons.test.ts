/** Which icon file belongs to an item, and which the page may serve. */
import { describe, expect, it } from 'vitest';
import {
  expectedIconHash,
  iconFileName,
  isServableIcon,
} from '../../../client/selfservice/icons.js';

describe('icons', () => {
  it.each([
    [{ name: 'Firefox' }, 'Firefox.png'],
    [{ name: 'Firefox', icon_name: 'browser' }, 'browser.png'],
    [{ name: 'Firefox', icon_name: 'browsers/fox.jpg' }, 'browsers/fox.jpg'],
    [{ name: 'Firefox', icon_name: '' }, 'Firefox.png'],
  ])('the icon of %j is %s', (offer, file) => {
    expect(iconFileName(offer)).toBe(file);
  });

  it.each([
    ['Firefox.png', true],
    ['sub/Firefox.webp', true],
    ['logo.svg', false],
    ['../../etc/passwd.png', false],
    ['/etc/x.png', false],
    ['Firefox.icns', false],
  ])('serves %s: %s', (file, ok) => {
    expect(isServableIcon(file)).toBe(ok);
  });

  it('checks against the pkginfo icon_hash first, then the repo hash list', () => {
    const hashes = { 'Firefox.png': 'b'.repeat(64) };
    expect(expectedIconHash({ name: 'Firefox', icon_hash: 'A'.repeat(64) }, hashes)).toBe(
      'a'.repeat(64),
    );
    expect(expectedIconHash({ name: 'Firefox' }, hashes)).toBe('b'.repeat(64));
    expect(expectedIconHash({ name: 'Chrome' }, hashes)).toBeUndefined();
  });
});

/** Narrowing a session to named items and what they need; requires/update_for references. */
import { describe, expect, it } from 'vitest';
import type { PlistDict } from '../../../formats/index.js';
import { refersTo, selectNamedItems } from '../../../client/install/item-selection.js';

const install = (name: string, extra: PlistDict = {}): PlistDict => ({
  name,
  version_to_install: '1.0',
  installed: false,
  ...extra,
});
const removal = (name: string, extra: PlistDict = {}): PlistDict => ({
  name,
  installed_version: '1.0',
  installed: true,
  ...extra,
});
const names = (list: PlistDict[]): unknown[] => list.map((e) => e['name']);

describe('refersTo', () => {
  it.each([
    ['Foo', true],
    ['Foo-1.0', true],
    ['Foo--1.0', true],
    ['Foo-1.0.0', true],
    ['Foo-2.0', false],
    ['Foobar', false],
  ])('%s names Foo 1.0: %s', (ref, expected) => {
    expect(refersTo(ref, 'Foo', '1.0')).toBe(expected);
  });
});

describe('selectNamedItems', () => {
  const installs = [
    install('Runtime'),
    install('Editor', { requires: ['Runtime-1.0'] }),
    install('EditorPlugin', { update_for: 'Editor' }),
    install('Unrelated'),
  ];

  it('takes the named item, what it requires, and updates for it, in plan order', () => {
    expect(names(selectNamedItems(['Editor'], installs, []).installs)).toEqual([
      'Runtime',
      'Editor',
      'EditorPlugin',
    ]);
  });

  it('takes only the item when it needs nothing else', () => {
    expect(names(selectNamedItems(['Unrelated'], installs, []).installs)).toEqual(['Unrelated']);
  });

  it('removes the items that require a removed item with it', () => {
    const removals = [
      removal('Editor', { requires: 'Runtime' }),
      removal('Runtime'),
      removal('Other'),
    ];
    expect(names(selectNamedItems(['Runtime'], [], removals).removals)).toEqual([
      'Editor',
      'Runtime',
    ]);
  });

  it('takes nothing for a name the plan does not hold', () => {
    expect(selectNamedItems(['Missing'], installs, [])).toEqual({ installs: [], removals: [] });
  });
});

/** The server-rendered page: escaping, order, and 1,000 items. */
import { describe, expect, it } from 'vitest';
import type { PlistDict } from '../../../formats/index.js';
import { buildCatalogue, type CatalogueSources } from '../../../client/selfservice/catalogue.js';
import {
  escapeHtml,
  formatSize,
  pagePolicy,
  renderPage,
  statusJson,
} from '../../../client/selfservice/page-html.js';

const offer = (name: string, extra: PlistDict = {}): PlistDict => ({
  name,
  version_to_install: '1.0',
  installed: false,
  needs_update: false,
  uninstallable: true,
  category: 'Utilities',
  installed_size: 2048,
  ...extra,
});

function sources(offers: PlistDict[], extra: Partial<CatalogueSources> = {}): CatalogueSources {
  return {
    installInfo: { optional_installs: offers, featured_items: ['Zed'] },
    selfServe: {},
    history: [],
    activity: new Map(),
    icons: new Set(),
    warnings: [],
    ...extra,
  };
}

describe('renderPage', () => {
  it('escapes everything that comes from the repo', () => {
    const evil = '<script>alert(1)</script>"\'&';
    const page = renderPage(
      buildCatalogue(
        sources([offer(evil, { display_name: evil, description: evil, category: evil })]),
      ),
      'f'.repeat(64),
      'nonce123',
    );
    expect(page).not.toContain('<script>alert(1)');
    expect(page).toContain('&#60;script&#62;alert(1)&#60;/script&#62;&#34;&#39;&#38;');
    // The only scripts are the page's own, carrying the nonce.
    expect(page.match(/<script/g)).toHaveLength(1);
    expect(page).toContain('<script nonce="nonce123">');
  });

  it('lists featured items first, then by name, with their categories', () => {
    const catalogue = buildCatalogue(
      sources([
        offer('beta', { category: 'Dev' }),
        offer('Alpha'),
        offer('Zed', { category: 'Dev' }),
      ]),
    );
    expect(catalogue.offers.map((o) => o.name)).toEqual(['Zed', 'Alpha', 'beta']);
    expect(catalogue.categories).toEqual(['Dev', 'Utilities']);
    expect(catalogue.offers[1]?.sizeBytes).toBe(2048 * 1024);
  });

  it('shows pending managed updates with their deadlines, soonest first', () => {
    const catalogue = buildCatalogue(
      sources([], {
        installInfo: {
          managed_installs: [
            { name: 'Late', version_to_install: '2', installed: false },
            {
              name: 'Soon',
              version_to_install: '3',
              installed: false,
              RestartAction: 'RequireRestart',
              force_install_after_date: new Date('2030-01-02T10:00:00Z'),
            },
            { name: 'Done', version_to_install: '1', installed: true },
          ],
        },
      }),
    );
    expect(catalogue.pending.map((p) => [p.name, p.deadline, p.restart])).toEqual([
      ['Soon', '2030-01-02T10:00:00.000Z', true],
      ['Late', undefined, false],
    ]);
    expect(renderPage(catalogue, 't', 'n')).toContain('<time datetime="2030-01-02T10:00:00.000Z">');
  });

  it('renders 1,000 items quickly, each with a labelled button', () => {
    const offers = Array.from({ length: 1000 }, (_, i) =>
      offer(`Item${i}`, { display_name: `Item number ${i}`, description: 'x'.repeat(200) }),
    );
    const started = performance.now();
    const page = renderPage(buildCatalogue(sources(offers)), 't', 'n');
    const ms = performance.now() - started;
    expect(page.match(/<li class="item"/g)).toHaveLength(1000);
    expect(page).toContain('aria-label="Install Item number 999"');
    expect(ms).toBeLessThan(500);
    expect(statusJson(buildCatalogue(sources(offers))).items).toHaveLength(1000);
  });

  it('reports a run in progress for the poll, with buttons labelled for the state', () => {
    const catalogue = buildCatalogue(
      sources([offer('Tool'), offer('Old', { installed: true, needs_update: true })], {
        activity: new Map([['Tool', { action: 'install' as const, percent: 30 }]]),
      }),
    );
    expect(statusJson(catalogue)).toEqual({
      busy: true,
      items: [
        {
          name: 'Old',
          kind: 'update-available',
          text: 'Update available',
          buttons: [
            { action: 'install', label: 'Update' },
            { action: 'remove', label: 'Remove' },
          ],
        },
        { name: 'Tool', kind: 'installing', text: 'Installing… 30%', buttons: [], percent: 30 },
      ],
    });
  });
});

describe('helpers', () => {
  it.each([
    [0, ''],
    [512, '512 bytes'],
    [1536, '1.5 KB'],
    [123_456_789, '123 MB'],
  ])('formatSize(%d) is %j', (bytes, text) => {
    expect(formatSize(bytes)).toBe(text);
  });

  it('escapes the five HTML characters', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe(
      '&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;',
    );
  });

  it('allows only the nonce-carrying script and style', () => {
    expect(pagePolicy('abc')).toContain("script-src 'nonce-abc'");
    expect(pagePolicy('abc')).toContain("default-src 'none'");
    expect(pagePolicy('abc')).toContain("frame-ancestors 'none'");
  });
});

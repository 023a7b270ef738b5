import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { ConditionError, evaluateAst, evaluateCondition, parseCondition } from 'abbot/manifests';
import type { Facts } from 'abbot/manifests';

/** Facts as a Munki 7 client on an Apple-silicon laptop reports them, plus admin-script facts. */
const facts: Facts = {
  hostname: 'lab-mbp-07.example.org',
  arch: 'arm64',
  x86_64_capable: false,
  os_vers: '15.4.1',
  os_vers_major: 15,
  os_vers_minor: 4,
  os_vers_patch: 1,
  os_build_number: '24E263',
  os_build_last_component: '263',
  machine_model: 'Mac14,9',
  machine_type: 'laptop',
  munki_version: '7.0.4.5123',
  serial_number: 'C02XK1ABCDEF',
  product_name: 'MacBook Pro (14-inch, 2023)',
  board_id: '<none>',
  ipv4_address: ['192.168.1.20', '10.0.0.5'],
  ipv6_address: [],
  date: new Date('2026-03-15T12:00:00Z'),
  catalogs: ['testing', 'production'],
  applications: [
    {
      bundleid: 'com.google.Chrome',
      name: 'Google Chrome',
      path: '/Applications/Google Chrome.app',
      version: '124.0.6367.91',
    },
    {
      bundleid: 'org.mozilla.firefox',
      name: 'Firefox',
      path: '/Applications/Firefox.app',
      version: '125.0.2',
    },
    {
      bundleid: 'com.microsoft.Word',
      name: 'Microsoft Word',
      path: '/Applications/Microsoft Word.app',
      version: '16.84',
    },
    { bundleid: 'com.example.noversion', name: 'No Version', path: '/Applications/NV.app' },
  ],
  // What admin condition scripts (ConditionalItems.plist) typically add:
  filevault_active: true,
  enrolled_via_dep: 'yes',
  hardware_ports: ['Wi-Fi', 'Thunderbolt Bridge'],
  site: 'Zürich',
  department: 'Café Ops',
  volumes: [
    { name: 'Macintosh HD', free_gb: 120 },
    { name: 'Backup', free_gb: 80 },
  ],
  scores: [3, 1, 2],
  owner: { name: 'Ada', groups: ['staff', 'admins'] },
  teams: [
    { name: 'ops', lead: 'bob', members: ['ada', 'bob'] },
    { name: 'dev', lead: 'cy', members: ['cy'] },
  ],
  size: 3,
};

/** The same Mac reporting itself as an older Intel desktop. */
const legacy: Facts = {
  ...facts,
  arch: 'x86_64',
  os_vers: '10.12.6',
  os_vers_major: 10,
  os_vers_minor: 12,
  os_vers_patch: 6,
  machine_model: 'MacBookPro11,1',
  machine_type: 'desktop',
};

function evaluate(text: string, against: Facts = facts): boolean {
  return evaluateCondition(text, against);
}

describe('evaluateCondition: examples from the Munki wiki and Munki 7 tests', () => {
  it.each<[string, boolean]>([
    ['machine_type == "laptop" AND os_vers BEGINSWITH "10.7"', false],
    ['machine_type == "laptop" AND os_vers BEGINSWITH "15.4"', true],
    ['date > CAST("2016-03-02T00:00:00Z", "NSDate")', true],
    ['date < CAST("2016-03-02T00:00:00Z", "NSDate")', false],
    ['date > CAST("2013-01-02T00:00:00Z", "NSDATE")', true],
    ['hostname == "LobbyiMac"', false],
    ['arch == "x86_64"', false],
    ["arch == 'arm64'", true],
    ['os_vers_major == 10', false],
    ['os_vers_major > 10', true],
    ['os_vers_minor == 7', false],
    ['os_vers_patch >= 2', false],
    ['os_build_number == "24E263"', true],
    ['machine_model == "iMac4,1"', false],
    ['machine_type == "laptop"', true],
    ['catalogs CONTAINS "testing"', true],
    ["catalogs CONTAINS 'staging'", false],
    ["ANY ipv4_address CONTAINS '192.168.161.'", false],
    ["ANY ipv4_address BEGINSWITH '192.168.1.'", true],
    ["ANY ipv4_address BEGINSWITH '172.'", false],
    ["ipv4_address CONTAINS '10.0.0.5'", true],
    ["ipv4_address CONTAINS '10.0.0.1'", false],
    ["munki_version LIKE '*7.0.4*'", true],
    ["munki_version LIKE '*0.8.3*'", false],
    ['serial_number == "W9999999U2P"', false],
    ["serial_number IN { 'C02D3ADB33F', 'C02XK1ABCDEF' }", true],
    ["NOT (serial_number IN { 'C02D3ADB33F', 'C02D3ADB03UF' })", true],
    ["ANY hardware_ports CONTAINS 'Wi-Fi'", true],
    ['filevault_active == TRUE', true],
    ["enrolled_via_dep == 'yes'", true],
    ["machine_type == 'laptop' AND os_vers_major < 10", false],
  ])('evaluates %s to %s', (text, expected) => {
    expect(evaluate(text)).toBe(expected);
  });
});

describe('evaluateCondition: real-world fixture conditions', () => {
  const highSierraCondition =
    '(os_vers_minor <= 12 AND os_vers_minor >= 8) AND (machine_model != "MacBookPro4,1" AND machine_model != "MacPro2,1" AND machine_model != "MacBookPro5,1" AND machine_model != "MacBookPro1,1" AND machine_model != "MacBookPro5,3" AND machine_model != "MacBookPro5,2" AND machine_model != "iMac8,1" AND machine_model != "MacBookPro5,4" AND machine_model != "iMac5,1" AND machine_model != "iMac5,2" AND machine_model != "iMac6,1" AND machine_model != "MacBookPro3,1" AND machine_model != "MacBookPro1,2" AND machine_model != "iMac9,1" AND machine_model != "Macmini3,1" AND machine_model != "Macmini1,1" AND machine_model != "iMac4,2" AND machine_model != "MacBookPro2,2" AND machine_model != "MacBookPro2,1" AND machine_model != "MacBook3,1" AND machine_model != "MacBook5,1" AND machine_model != "MacBook5,2" AND machine_model != "MacBook2,1" AND machine_model != "iMac4,1" AND machine_model != "MacBook1,1" AND machine_model != "MacBookPro5,5" AND machine_model != "Xserve2,1" AND machine_model != "MacBookAir1,1" AND machine_model != "Xserve3,1" AND machine_model != "MacBookAir2,1" AND machine_model != "Xserve1,1" AND machine_model != "Macmini2,1" AND machine_model != "MacPro3,1" AND machine_model != "iMac7,1" AND machine_model != "MacBook4,1" AND machine_model != "MacPro1,1" AND machine_model != "MacPro4,1")';

  it.each<[string, Facts, boolean]>([
    ['machine_type == "laptop"', facts, true],
    ['machine_type == "laptop"', legacy, false],
    ['machine_model BEGINSWITH[cd] "VM"', facts, false],
    ['machine_model BEGINSWITH[cd] "VM"', { ...facts, machine_model: 'VMware7,1' }, true],
    ['machine_model BEGINSWITH[cd] "VM"', { ...facts, machine_model: 'VirtualMac2,1' }, false],
    ['machine_model BEGINSWITH[cd] "VM"', { ...facts, machine_model: 'vmware20,1' }, true],
    ['os_vers BEGINSWITH "10.9"', facts, false],
    ['os_vers BEGINSWITH "10.9"', { ...legacy, os_vers: '10.9.5' }, true],
    ['os_vers BEGINSWITH "10.8"', { ...legacy, os_vers: '10.8.5' }, true],
    ['os_vers BEGINSWITH "10.7"', { ...legacy, os_vers: '10.7' }, true],
    ['os_vers BEGINSWITH "10.7"', { ...legacy, os_vers: '10.17' }, false],
    [highSierraCondition, legacy, true],
    [highSierraCondition, { ...legacy, machine_model: 'MacPro4,1' }, false],
    [highSierraCondition, { ...legacy, machine_model: 'iMac8,1' }, false],
    [highSierraCondition, { ...legacy, os_vers_minor: 13 }, false],
    [highSierraCondition, { ...legacy, os_vers_minor: 7 }, false],
    [highSierraCondition, facts, false],
  ])('evaluates %s against a sample Mac to %s', (text, against, expected) => {
    expect(evaluate(text, against)).toBe(expected);
  });

  const fixture = join(
    fileURLToPath(new URL('.', import.meta.url)),
    '../../../shared/fixtures/real-world/pkgsinfo/sphen13__munki-scripts__Install macOS High Sierra-10.13.6.plist',
  );
  it.skipIf(!existsSync(fixture))(
    'uses the High Sierra condition exactly as the fixture has it',
    () => {
      const xml = readFileSync(fixture, 'utf8');
      const escaped = /<key>installable_condition<\/key>\s*<string>([^<]*)<\/string>/.exec(
        xml,
      )?.[1];
      const unescaped = escaped
        ?.replaceAll('&quot;', '"')
        .replaceAll('&lt;', '<')
        .replaceAll('&gt;', '>')
        .replaceAll('&amp;', '&');
      expect(unescaped).toBe(highSierraCondition);
    },
  );
});

describe('evaluateCondition: comparison operators', () => {
  it.each<[string, boolean]>([
    ['os_vers_major == 15', true],
    ['os_vers_major = 15', true],
    ['os_vers_major == 15.0', true],
    ['os_vers_major != 15', false],
    ['os_vers_major <> 14', true],
    ['os_vers_major < 16', true],
    ['os_vers_major < 15', false],
    ['os_vers_major <= 15', true],
    ['os_vers_major =< 14', false],
    ['os_vers_major > 14', true],
    ['os_vers_major >= 15', true],
    ['os_vers_major => 16', false],
    ['15 == os_vers_major', true],
    ['os_vers_major == 0xF', true],
    ['os_vers_major > -1', true],
    ['os_vers == "15.4.1"', true],
    ['os_vers != "15.4"', true],
    ['hostname BEGINSWITH "lab-"', true],
    ['hostname ENDSWITH ".example.org"', true],
    ['hostname ENDSWITH ".example.com"', false],
    ['hostname CONTAINS "mbp"', true],
    ['hostname CONTAINS "imac"', false],
    ['hostname LIKE "lab-*-07.*"', true],
    ['hostname MATCHES "lab-[a-z]+-[0-9]{2}\\\\..*"', true],
    ['machine_model IN {"Mac14,9", "Mac14,10"}', true],
    ['os_vers_major BETWEEN {12, 15}', true],
    ['os_vers_major BETWEEN {16, 20}', false],
    ['"" == ""', true],
    ['SELF.machine_type == "laptop"', true],
  ])('evaluates %s to %s', (text, expected) => {
    expect(evaluate(text)).toBe(expected);
  });
});

describe('evaluateCondition: string comparisons', () => {
  it.each<[string, boolean]>([
    // NSString compare: is by character, not by version: "15.10" sorts before "15.4.1".
    ['os_vers > "15.10"', true],
    ['os_vers < "15.5"', true],
    ['"10.9" > "10.10"', true],
    ['machine_model > "Mac14,10"', true],
    ['"B" < "a"', true],
    ['"b" <[c] "B"', false],
    ['"abc" BETWEEN {"abb", "abd"}', true],
    ['"" BEGINSWITH ""', true],
    ['hostname BEGINSWITH ""', true],
  ])('evaluates %s to %s', (text, expected) => {
    expect(evaluate(text)).toBe(expected);
  });
});

describe('evaluateCondition: [c] and [d] modifiers', () => {
  it.each<[string, boolean]>([
    ['machine_type == "LAPTOP"', false],
    ['machine_type ==[c] "LAPTOP"', true],
    ['machine_type !=[c] "LAPTOP"', false],
    ['hostname BEGINSWITH "LAB"', false],
    ['hostname BEGINSWITH[c] "LAB"', true],
    ['hostname ENDSWITH[c] ".EXAMPLE.ORG"', true],
    ['hostname CONTAINS[c] "MBP"', true],
    ['hostname LIKE[c] "LAB-*"', true],
    ['hostname MATCHES[c] "LAB-.*"', true],
    ['machine_type IN[c] {"Laptop", "Desktop"}', true],
    ['catalogs CONTAINS[c] "TESTING"', true],
    ['site == "Zurich"', false],
    ['site ==[d] "Zurich"', true],
    ['site ==[d] "zurich"', false],
    ['site ==[cd] "ZURICH"', true],
    ['department BEGINSWITH[d] "Cafe"', true],
    ['department LIKE[cd] "cafe*"', true],
    ['department MATCHES[cd] "cafe ops"', true],
    ['site ==[d] "Zu\\u0308rich"', true],
    ['"straße" ==[c] "STRASSE"', true],
  ])('evaluates %s to %s', (text, expected) => {
    expect(evaluate(text)).toBe(expected);
  });
});

describe('evaluateCondition: ANY, SOME, ALL and NONE', () => {
  it.each<[string, boolean]>([
    ['ANY ipv4_address BEGINSWITH "10."', true],
    ['SOME ipv4_address BEGINSWITH "10."', true],
    ['ALL ipv4_address BEGINSWITH "10."', false],
    ['ALL ipv4_address CONTAINS "."', true],
    ['NONE ipv4_address BEGINSWITH "172."', true],
    ['NONE ipv4_address BEGINSWITH "10."', false],
    ['ANY applications.bundleid == "org.mozilla.firefox"', true],
    ['ANY applications.name LIKE[c] "microsoft *"', true],
    ['ALL applications.path BEGINSWITH "/Applications/"', true],
    ['ANY applications.version BEGINSWITH "16."', true],
    ['ANY scores > 2', true],
    ['ALL scores > 0', true],
    ['ANY ipv6_address BEGINSWITH "fe80"', false],
    ['ALL ipv6_address BEGINSWITH "fe80"', true],
    ['NONE ipv6_address BEGINSWITH "fe80"', true],
    ['ANY ipv4_address IN {"10.0.0.5", "10.0.0.6"}', true],
    ['ANY volumes.free_gb < 100', true],
    ['ALL volumes.free_gb < 100', false],
  ])('evaluates %s to %s', (text, expected) => {
    expect(evaluate(text)).toBe(expected);
  });
});

describe('evaluateCondition: IN and CONTAINS', () => {
  it.each<[string, boolean]>([
    ['machine_model IN {"Mac14,9"}', true],
    ['machine_model IN {"Mac14,10"}', false],
    ['machine_model IN {}', false],
    ['os_vers_major IN {13, 14, 15}', true],
    ['os_vers_major IN {"15"}', false],
    ['"testing" IN catalogs', true],
    ['"staging" IN catalogs', false],
    ['"/Applications/Firefox.app" IN applications.path', true],
    ['"Firefox" IN applications.path', false],
    ['applications.path CONTAINS "/Applications/Firefox.app"', true],
    ['applications.path CONTAINS "Firefox"', false],
    ['"Mac14" IN machine_model', true],
    ['"mac14" IN[c] machine_model', true],
    ['"Mac15" IN machine_model', false],
    ['machine_model CONTAINS ","', true],
    ['"Ada" IN owner', true],
    ['"admins" IN owner.groups', true],
    ['owner.groups CONTAINS "staff"', true],
  ])('evaluates %s to %s', (text, expected) => {
    expect(evaluate(text)).toBe(expected);
  });
});

describe('evaluateCondition: LIKE wildcards', () => {
  it.each<[string, string, boolean]>([
    ['Mac14,9', 'Mac*', true],
    ['Mac14,9', '*,9', true],
    ['Mac14,9', '*14*', true],
    ['Mac14,9', 'Mac14,?', true],
    ['Mac14,10', 'Mac14,?', false],
    ['Mac14,9', 'Mac??,9', true],
    ['Mac14,9', 'Mac?,9', false],
    ['Mac14,9', 'mac*', false],
    ['Mac14,9', 'Mac14', false],
    ['Mac14,9', '*', true],
    ['', '*', true],
    ['', '?', false],
    ['a*b', 'a\\\\*b', true],
    ['axb', 'a\\\\*b', false],
    ['a?b', 'a\\\\?b', true],
    ['a.b', 'a.b', true],
    ['axb', 'a.b', false],
    ['(1+1)', '(1+1)', true],
    ['[x]', '[x]', true],
    ['Zürich', 'Z?rich', true],
    ['line1\nline2', 'line1*', true],
  ])('matches %j against LIKE %j: %s', (value, pattern, expected) => {
    expect(evaluate(`value LIKE "${pattern}"`, { value })).toBe(expected);
  });
});

describe('evaluateCondition: MATCHES (ICU regex, whole string)', () => {
  it.each<[string, string, boolean]>([
    ['Mac14,9', 'Mac[0-9]+,[0-9]+', true],
    ['Mac14,9', 'Mac', false],
    ['Mac14,9', '.*14.*', true],
    ['MacBookPro11,1', 'MacBook(Pro|Air)\\\\d+,\\\\d+', true],
    ['a|b', 'a\\\\|b', true],
    ['ab', 'a|ab', true],
    ['15.4.1', '15\\\\.[0-9]+(\\\\.[0-9]+)?', true],
    ['15x4', '15\\\\.4', false],
    ['a.b', '\\\\Qa.b\\\\E', true],
    ['axb', '\\\\Qa.b\\\\E', false],
    ['MAC', '(?i)mac', true],
    ['A', '\\\\x{41}', true],
    ['A', '\\\\x41', true],
    ['é', '\\\\u00e9', true],
    ['a b', 'a\\\\hb', true],
    ['a-b', 'a\\\\-b', true],
    ['a,b', 'a\\\\,b', true],
    ['ab', '\\\\Aab\\\\z', true],
    ['ab', '(?<first>a)\\\\k<first>?b', true],
    ['ab', '(?<=a)b|ab', true],
    ['aab', 'a{2}b', true],
    ['aaab', 'a{1,2}b', false],
    ['ab', 'a(?#a comment)b', true],
    ['ab', 'a*?b', true],
    ['x\ny', '(?s)x.y', true],
    ['x\ny', 'x.y', false],
    ['one\ntwo', '(?m)one$\\\\n^two', true],
    ['one\ntwo', '(?m)one', false],
  ])('matches %j against MATCHES %j: %s', (value, pattern, expected) => {
    expect(evaluate(`value MATCHES "${pattern}"`, { value })).toBe(expected);
  });

  it('compiles a MATCHES pattern read from a key path when evaluating', () => {
    expect(evaluate('machine_model MATCHES pattern', { ...facts, pattern: 'Mac\\d+,\\d+' })).toBe(
      true,
    );
  });

  it('treats an invalid MATCHES pattern read from a key path as false', () => {
    expect(evaluate('machine_model MATCHES pattern', { ...facts, pattern: '(' })).toBe(false);
  });
});

describe('evaluateCondition: BETWEEN', () => {
  it.each<[string, boolean]>([
    ['os_vers_minor BETWEEN {4, 6}', true],
    ['os_vers_minor BETWEEN {1, 4}', true],
    ['os_vers_minor BETWEEN {5, 6}', false],
    ['os_vers_minor BETWEEN {6, 1}', false],
    [
      'date BETWEEN {CAST("2026-01-01T00:00:00Z", "NSDate"), CAST("2026-12-31T00:00:00Z", "NSDate")}',
      true,
    ],
    [
      'date BETWEEN {CAST("2025-01-01T00:00:00Z", "NSDate"), CAST("2025-12-31T00:00:00Z", "NSDate")}',
      false,
    ],
    ['os_vers_minor BETWEEN scores', false],
    ['os_vers_minor BETWEEN bounds', true],
  ])('evaluates %s to %s', (text, expected) => {
    expect(evaluate(text, { ...facts, bounds: [1, 9] })).toBe(expected);
  });
});

describe('evaluateCondition: dates and CAST', () => {
  it.each<[string, boolean]>([
    ['date > CAST("2026-03-15T11:59:59Z", "NSDate")', true],
    ['date < CAST("2026-03-15T12:00:01Z", "NSDate")', true],
    ['date == CAST("2026-03-15T12:00:00Z", "NSDate")', true],
    ['date == CAST("2026-03-15T13:00:00+01:00", "NSDate")', true],
    ['date >= CAST(795268800, "NSDate")', true],
    ['date > CAST(795268801, "NSDate")', false],
    ['CAST(date, "NSNumber") == 795268800', true],
    ['CAST(os_vers_major, "NSString") == "15"', true],
    ['CAST(os_build_last_component, "NSNumber") < 300', true],
    ['CAST(os_build_last_component, "NSNumber") > 202', true],
    ['CAST(missing, "NSNumber") > 0', false],
    ['CAST(applications, "NSString") == ""', false],
    ['CAST(os_vers, "NSDate") > date', false],
    ['date > "2026-01-01"', false],
    ['date > 0', false],
    ['date == "2026-03-15T12:00:00Z"', false],
  ])('evaluates %s to %s', (text, expected) => {
    expect(evaluate(text)).toBe(expected);
  });
});

describe('evaluateCondition: SUBQUERY and collection operators', () => {
  it.each<[string, boolean]>([
    ['SUBQUERY(applications, $app, $app.bundleid BEGINSWITH "com.").@count == 3', true],
    ['SUBQUERY(applications, $app, $app.name == "Firefox").@count > 0', true],
    ['SUBQUERY(applications, $app, $app.name == "Safari").@count > 0', false],
    [
      'SUBQUERY(applications, $a, $a.bundleid == "org.mozilla.firefox" AND $a.version BEGINSWITH "125.").@count == 1',
      true,
    ],
    ['SUBQUERY(applications, $a, name CONTAINS "o").@count == 4', true],
    ['SUBQUERY(applications, $a, name CONTAINS "Fire").@count == 1', true],
    ['SUBQUERY(applications, $a, $a.version == nil).@count == 1', true],
    ['SUBQUERY(ipv4_address, $ip, $ip BEGINSWITH "10.").@count == 1', true],
    ['SUBQUERY(ipv4_address, $ip, SELF BEGINSWITH "10.").@count == 1', true],
    ['SUBQUERY(missing, $x, $x == 1).@count == 0', false],
    ['SUBQUERY(hostname, $x, $x == 1).@count == 0', false],
    ['SUBQUERY(teams, $t, SUBQUERY($t.members, $m, $m == "ada").@count > 0).@count == 1', true],
    ['SUBQUERY(teams, $t, SUBQUERY($t.members, $m, $m == $t.lead).@count > 0).@count == 2', true],
    ['applications.@count == 4', true],
    ['applications.@count > 10', false],
    ['ipv4_address.@count == 2', true],
    ['ipv6_address.@count == 0', true],
    ['owner.@count == 2', true],
    ['scores.@sum == 6', true],
    ['scores.@avg == 2', true],
    ['scores.@min == 1', true],
    ['scores.@max == 3', true],
    ['volumes.@sum.free_gb == 200', true],
    ['volumes.@avg.free_gb == 100', true],
    ['volumes.@max.free_gb == 120', true],
    ['volumes.free_gb.@min == 80', true],
    ['ipv4_address.@max == "192.168.1.20"', true],
    ['ipv6_address.@sum == 0', true],
    ['ipv6_address.@max == nil', true],
    ['applications.@count.ignored == 4', true],
    ['applications.@sum.name > 0', false],
    ['hostname.@count > 0', false],
    ['missing.@count == 0', false],
  ])('evaluates %s to %s', (text, expected) => {
    expect(evaluate(text)).toBe(expected);
  });
});

describe('evaluateCondition: SUBQUERY scope', () => {
  it('reads plain key paths inside SUBQUERY from the element, not from the facts', () => {
    expect(evaluate('SUBQUERY(teams, $t, owner.name == "Ada").@count == 0')).toBe(true);
  });
});

describe('evaluateCondition: precedence (NOT > AND > OR)', () => {
  it.each<[string, boolean]>([
    ['machine_type == "desktop" AND arch == "arm64" OR os_vers_major == 15', true],
    ['machine_type == "desktop" AND (arch == "arm64" OR os_vers_major == 15)', false],
    ['os_vers_major == 15 OR machine_type == "desktop" AND arch == "x86_64"', true],
    ['(os_vers_major == 15 OR machine_type == "desktop") AND arch == "x86_64"', false],
    ['NOT machine_type == "desktop" AND arch == "arm64"', true],
    ['NOT (machine_type == "laptop" AND arch == "arm64")', false],
    ['NOT machine_type == "laptop" OR arch == "arm64"', true],
    ['! machine_type == "laptop" || arch == "arm64" && os_vers_major == 14', false],
    ['NOT NOT machine_type == "laptop"', true],
    ['TRUEPREDICATE', true],
    ['FALSEPREDICATE', false],
    ['NOT FALSEPREDICATE AND TRUEPREDICATE', true],
  ])('evaluates %s to %s', (text, expected) => {
    expect(evaluate(text)).toBe(expected);
  });
});

describe('evaluateCondition: undefined keys compare false', () => {
  it.each<[string, boolean]>([
    ['missing == "x"', false],
    ['missing != "x"', false],
    ['missing < 1', false],
    ['missing >= 1', false],
    ['missing BEGINSWITH "x"', false],
    ['missing ENDSWITH "x"', false],
    ['missing CONTAINS "x"', false],
    ['missing LIKE "*"', false],
    ['missing MATCHES ".*"', false],
    ['missing IN {"x"}', false],
    ['"x" IN missing', false],
    ['missing BETWEEN {1, 2}', false],
    ['missing == missing_too', false],
    ['os_vers == missing', false],
    ['os_vers != missing', false],
    ['ANY missing == "x"', false],
    ['ALL missing == "x"', false],
    ['NONE missing == "x"', false],
    ['ANY ipv4_address == missing', false],
    ['owner.missing == "x"', false],
    ['owner.missing != "x"', false],
    ['missing.deeper == "x"', false],
    ['NOT (missing == "x")', true],
    ['NOT (missing != "x")', true],
    ['constructor == "x"', false],
    ['toString != "x"', false],
    ['missing == nil', true],
    ['missing == NULL', true],
    ['nil == missing', true],
    ['missing != nil', false],
    ['os_vers == nil', false],
    ['os_vers != nil', true],
    ['owner.missing == nil', true],
    ['constructor == nil', true],
  ])('evaluates %s to %s', (text, expected) => {
    expect(evaluate(text)).toBe(expected);
  });
});

describe('evaluateCondition: no coercion between types', () => {
  it.each<[string, boolean]>([
    // Munki 7 reports os_build_last_component as a string; NSPredicate raises on "263" < 202.
    ['os_build_last_component < 202', false],
    ['os_build_last_component > 202', false],
    ['NOT (os_build_last_component < 202)', false],
    ['os_build_last_component == "263"', true],
    ['os_build_last_component == 263', false],
    ['os_build_last_component != 263', true],
    ['os_vers > 5', false],
    ['os_vers_major == "15"', false],
    ['os_vers_major BEGINSWITH "1"', false],
    ['os_vers_major LIKE "1*"', false],
    ['os_vers_major CONTAINS 5', false],
    ['ipv4_address BEGINSWITH "10."', false],
    ['hostname CONTAINS 5', false],
    ['5 IN hostname', false],
    ['ANY hostname == "x"', false],
    ['hostname.length == 22', false],
    ['filevault_active == TRUE', true],
    ['filevault_active == YES', true],
    ['filevault_active == 1', true],
    ['filevault_active > 0', true],
    ['x86_64_capable == NO', true],
    ['x86_64_capable == 0', true],
    ['filevault_active == "TRUE"', false],
    ['ipv4_address == {"192.168.1.20", "10.0.0.5"}', true],
    ['ipv4_address == {"10.0.0.5", "192.168.1.20"}', false],
    ['owner == owner', true],
  ])('evaluates %s to %s', (text, expected) => {
    expect(evaluate(text)).toBe(expected);
  });

  it('ignores a type mismatch in an OR operand it never reaches', () => {
    expect(evaluate('machine_type == "laptop" OR os_vers > 5')).toBe(true);
  });

  it('makes the whole condition false when an OR operand it reaches raises', () => {
    expect(evaluate('os_vers > 5 OR machine_type == "laptop"')).toBe(false);
  });

  it('ignores a type mismatch in an AND operand after a false one', () => {
    expect(evaluate('NOT (machine_type == "desktop" AND os_vers > 5)')).toBe(true);
  });

  it('reports why an evaluation raised through onError', () => {
    const reasons: string[] = [];
    expect(
      evaluateCondition('os_build_last_component < 202', facts, {
        onError: (reason) => reasons.push(reason),
      }),
    ).toBe(false);
    expect(reasons).toEqual(['cannot order the string "263" against the number 202']);
  });

  it('does not call onError for a plain false', () => {
    const reasons: string[] = [];
    evaluateCondition('os_vers_major == 10', facts, { onError: (reason) => reasons.push(reason) });
    expect(reasons).toEqual([]);
  });
});

describe('evaluateCondition: parsing', () => {
  it('throws CONDITION_INVALID for text that does not parse', () => {
    expect(() => evaluateCondition('os_vers EQUALS "15"', facts)).toThrow(ConditionError);
  });

  it('throws again for the same bad text: failures are not cached as results', () => {
    expect(() => evaluateCondition('os_vers ==', facts)).toThrow(ConditionError);
    expect(() => evaluateCondition('os_vers ==', facts)).toThrow(ConditionError);
  });

  it('gives each facts object its own answer for a cached condition', () => {
    expect(evaluateCondition('machine_type == "laptop"', facts)).toBe(true);
    expect(evaluateCondition('machine_type == "laptop"', legacy)).toBe(false);
  });

  it('evaluates thousands of distinct conditions without unbounded caching failures', () => {
    for (let i = 0; i < 2000; i++) {
      expect(evaluateCondition(`os_vers_major == ${i}`, facts)).toBe(i === 15);
    }
  });
});

describe('evaluateAst', () => {
  it('evaluates a parsed condition', () => {
    expect(evaluateAst(parseCondition('os_vers_major >= 15'), facts)).toBe(true);
  });

  it('evaluates the same parsed condition against other facts', () => {
    expect(evaluateAst(parseCondition('os_vers_major >= 15'), legacy)).toBe(false);
  });

  it('evaluates against empty facts', () => {
    expect(evaluateAst(parseCondition('os_vers_major >= 15'), {})).toBe(false);
  });

  it('reads a #-escaped reserved word as a key', () => {
    expect(evaluateAst(parseCondition('#size == 3'), facts)).toBe(true);
  });
});

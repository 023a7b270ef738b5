import { describe, expect, it } from 'vitest';
import { classifyUpdate } from '../../../client/apple-updates/classify.js';

describe('classifyUpdate', () => {
  // Titles and versions from the recorded listings (test/fixtures/softwareupdate/) and, for
  // security responses, the version form Apple shipped them in ("13.3.1 (a)"); no listing of one
  // was found to record.
  it.each([
    ['Safari', 'Safari17.0VenturaAuto-17.0', '17.0', '13.5.2', 'minor'],
    ['macOS Ventura 13.6', 'macOS Ventura 13.6-22G120', '13.6', '13.5.2', 'minor'],
    ['macOS Sonoma 14.0', 'macOS Sonoma 14.0-23A344', '14.0', '13.5.2', 'major'],
    ['macOS Sonoma 14.6.1', 'macOS Sonoma 14.6.1-23G93', '14.6.1', '12.7.5', 'major'],
    ['macOS Sequoia 15.3', 'macOS Sequoia 15.3-24D60', '15.3', '15.2', 'minor'],
    ['macOS Tahoe 26.5', 'macOS Tahoe 26.5-25F71', '26.5', '26.4', 'minor'],
    ['macOS Tahoe 26.0', 'macOS Tahoe 26.0-25A354', '26.0', '15.6', 'major'],
    [
      'Command Line Tools for Xcode 26.5',
      'Command Line Tools for Xcode 26.5-26.5',
      '26.5',
      '26.4',
      'minor',
    ],
    ['macOS Big Sur 11.1 Beta 2', 'macOS Big Sur 11.1 Beta 2-20C5061b', '11.1', '11.0.1', 'minor'],
    ['macOS Catalina 10.15.7', 'macOS Catalina 10.15.7-19H2', '10.15.7', '10.15.6', 'minor'],
    ['macOS Catalina', 'macOS Catalina-19A583', '10.15', '10.14.6', 'major'],
    [
      'macOS Ventura 13.4.1 (a)',
      'macOS Ventura 13.4.1 (a)-22F770820b',
      '13.4.1 (a)',
      '13.4.1',
      'security-response',
    ],
    ['Rapid Security Response', 'RSR-13.3.1a', '13.3.1 (a)', '13.3.1', 'security-response'],
    ['macOS Background Security Improvement', 'BSI-26.1', '26.1', '26.1', 'security-response'],
  ] as const)('%s (%s, %s) on %s is %s', (title, label, version, os, kind) => {
    expect(classifyUpdate({ title, label, version }, os)).toBe(kind);
  });
});

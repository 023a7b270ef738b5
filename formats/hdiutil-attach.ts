/**
 * The output of `hdiutil attach -plist`: a property list whose `system-entities` name the devices
 * attached and where the mountable ones were mounted. Pure, so the client's disk-image code and the
 * repo tools read it the same way.
 */
import { describeError } from '../lib/errors.js';
import { parsePlist } from './plist-parse.js';
import { isPlistDict, type PlistValue } from './plist-value.js';

/** The mount point in `hdiutil attach -plist` output, or why there is none. */
export function parseAttachOutput(stdout: string): { mountPoint: string } | { error: string } {
  // hdiutil may print a licence or warnings around the plist: take the first plist only.
  const xml = stdout.indexOf('<?xml');
  const start = xml !== -1 ? xml : stdout.indexOf('<plist');
  const end = start === -1 ? -1 : stdout.indexOf('</plist>', start);
  if (start === -1 || end === -1) return { error: 'hdiutil attach printed no property list' };
  let plist: PlistValue;
  try {
    plist = parsePlist(stdout.slice(start, end + '</plist>'.length), {
      source: 'hdiutil attach -plist',
    });
  } catch (e) {
    return { error: `hdiutil attach printed an unreadable property list: ${describeError(e)}` };
  }
  const entities = isPlistDict(plist) ? plist['system-entities'] : undefined;
  for (const entity of Array.isArray(entities) ? entities : []) {
    const mountPoint = isPlistDict(entity) ? entity['mount-point'] : undefined;
    if (typeof mountPoint === 'string' && mountPoint !== '') return { mountPoint };
  }
  return { error: 'hdiutil attach mounted no volume (no mount-point in its output)' };
}

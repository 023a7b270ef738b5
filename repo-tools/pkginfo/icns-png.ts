/**
 * The PNG inside an Apple icon file (.icns), for `repo import --extract-icon`: since Mac OS X 10.7
 * the large icon sizes (ic07–ic14) are stored as plain PNG data, so Munki's icon (a PNG in icons/)
 * can be had without `sips`. The file is `icns` + total length, then entries of a 4-byte type, a
 * 4-byte length (header included) and the data, all big-endian.
 */

// Largest useful first: 512pt, 256pt@2x, 256pt, 128pt@2x, 1024 (512@2x), 128pt, then the small ones.
const PREFERENCE = ['ic09', 'ic14', 'ic08', 'ic13', 'ic10', 'ic07', 'ic12', 'ic11'];
const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The best PNG image in `icns`, or undefined when it holds none (old formats, JPEG 2000). */
export function pngFromIcns(icns: Uint8Array): Uint8Array | undefined {
  if (icns.length < 8 || String.fromCharCode(...icns.subarray(0, 4)) !== 'icns') return undefined;
  const view = new DataView(icns.buffer, icns.byteOffset, icns.byteLength);
  const end = Math.min(icns.length, view.getUint32(4));
  const found = new Map<string, Uint8Array>();
  for (let at = 8; at + 8 <= end;) {
    const type = String.fromCharCode(...icns.subarray(at, at + 4));
    const length = view.getUint32(at + 4);
    if (length < 8 || at + length > end) break; // a damaged entry: stop at what was readable
    const data = icns.subarray(at + 8, at + length);
    if (PNG_MAGIC.every((b, i) => data[i] === b)) found.set(type, data);
    at += length;
  }
  for (const type of PREFERENCE) {
    const png = found.get(type);
    if (png !== undefined) return png;
  }
  return found.values().next().value;
}

/**
 * Content types as a Munki repo gets them from nginx's or Apache's default tables: catalogs and
 * manifests have no extension and go out as application/octet-stream (Munki parses them whatever
 * the type says), packages and disk images as octet-stream, icons by their image type.
 */

const TYPES: Readonly<Record<string, string>> = {
  plist: 'application/xml',
  xml: 'text/xml',
  json: 'application/json',
  yaml: 'application/yaml',
  yml: 'application/yaml',
  txt: 'text/plain; charset=utf-8',
  html: 'text/html; charset=utf-8',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  svg: 'image/svg+xml',
  tif: 'image/tiff',
  tiff: 'image/tiff',
  bmp: 'image/bmp',
  zip: 'application/zip',
  gz: 'application/gzip',
};

/** The Content-Type for a file name; application/octet-stream when the extension is not known. */
export function contentTypeFor(fileName: string): string {
  const dot = fileName.lastIndexOf('.');
  if (dot <= 0) return 'application/octet-stream';
  return TYPES[fileName.slice(dot + 1).toLowerCase()] ?? 'application/octet-stream';
}

/** The public face of `formats/` (package export `abbot/formats`): re-exports only. */

export { parsePlist, type ParsePlistOptions } from './plist-parse.js';
export { buildPlist, buildPlistFragment, type BuildPlistOptions } from './plist-build.js';
export { buildBinaryPlist } from './plist-binary.js';
export {
  PlistReal,
  isPlistDict,
  setDictKey,
  type PlistValue,
  type PlistDict,
} from './plist-value.js';

// Apple flat packages: xar container, cpio, pbzx and payload decoding, PackageInfo/Distribution.
export { bufferSource, type ByteSource } from './byte-source.js';
export {
  openXar,
  type XarArchive,
  type XarEntry,
  type XarEntryType,
  type XarData,
  type XarDataRange,
  type XarChecksum,
  type XarChecksumAlgorithm,
  type XarHeader,
  type XarSignature,
} from './xar.js';
export {
  readCpio,
  CpioParser,
  writeCpioOdc,
  type CpioEntry,
  type CpioHeader,
  type CpioEvent,
  type CpioEntryType,
  type CpioFormat,
  type CpioWriteEntry,
} from './cpio.js';
export { decodePbzx, decodePbzxStream } from './pbzx.js';
export {
  decodePayload,
  decodePayloadStream,
  sniffPayloadEncoding,
  type PayloadEncoding,
} from './payload.js';
export {
  readFlatPackage,
  parsePackageInfo,
  parseDistribution,
  type FlatPackage,
  type FlatComponent,
  type PackageInfo,
  type Distribution,
  type PkgRef,
  type BundleInfo,
  type OsVersionRange,
} from './flat-package.js';
export { parseAttachOutput } from './hdiutil-attach.js';
export {
  transcodeCatalogFragment,
  type TranscodeCatalogFragmentOptions,
  type CatalogFragmentResult,
} from './plist-catalog-fragment.js';
export {
  parseXml,
  child as xmlChild,
  children as xmlChildren,
  descendants as xmlDescendants,
  textOf as xmlText,
  attribute as xmlAttribute,
  type XmlElement,
  type XmlParseOptions,
} from './xml.js';

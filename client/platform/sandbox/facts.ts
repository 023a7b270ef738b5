/**
 * The built-in condition facts, computed as Munki 7 computes them (see munki-behaviour.md §f),
 * from a few raw machine values each platform gathers its own way. Shared by both platforms.
 */
import { hostname as osHostname, networkInterfaces } from 'node:os';
import { readFile } from 'node:fs/promises';
import { isPlistDict, parsePlist } from '../../../formats/index.js';
import type { PlistDict } from '../../../formats/index.js';
import { abbotVersion } from '../../../lib/version.js';
import type { Logger } from '../../../lib/log.js';
import type { FactValue, Facts } from '../../../manifests/index.js';
import type { AbbotPaths, AppInfo } from '../platform.js';

/** What a platform must find out about the machine; everything else is derived. */
export interface MachineInfo {
  /** SystemVersion.plist ProductVersion, e.g. `15.4.1`. */
  productVersion: string;
  /** SystemVersion.plist ProductBuildVersion, e.g. `24E263`. */
  buildVersion: string;
  /** Native architecture: `arm64` or `x86_64` (Rosetta already seen through). */
  arch: string;
  /** `hw.model`, e.g. `Mac14,9`. */
  machineModel: string;
  machineType: 'laptop' | 'desktop';
  serialNumber: string;
  hostname: string;
  /** Marketing name, when the platform knows it. */
  productName?: string | undefined;
}

/** `os_vers` as Munki writes it: `major.minor` when patch is 0, else `major.minor.patch`. */
export function osVersFacts(productVersion: string): {
  os_vers: string;
  os_vers_major: number;
  os_vers_minor: number;
  os_vers_patch: number;
} {
  // Missing parts count as 0, as in Munki's `os_vers + ".0.0"`.
  const [major = 0, minor = 0, patch = 0] = productVersion
    .trim()
    .split('.')
    .map((p) => Number.parseInt(p, 10))
    .map((n) => (Number.isFinite(n) ? n : 0));
  return {
    os_vers: patch === 0 ? `${major}.${minor}` : `${major}.${minor}.${patch}`,
    os_vers_major: major,
    os_vers_minor: minor,
    os_vers_patch: patch,
  };
}

/**
 * Munki 7's `os_build_last_component`: the STRING after the last uppercase letter
 * (`24E263` → `"263"`, `24A5279h` → `"5279h"`), `""` when there is none. (Munki 6 gave an integer.)
 */
export function buildLastComponent(build: string): string {
  const m = /[A-Z]([^A-Z]*)$/.exec(build);
  return m?.[1] ?? '';
}

/**
 * The `date` fact: `now` shifted by the local UTC offset, as Munki does, so that a condition like
 * `date > CAST("2025-03-02T00:00:00Z", "NSDate")` is true from local midnight, not UTC midnight.
 */
export function localDateFact(now: Date): Date {
  return new Date(now.getTime() - now.getTimezoneOffset() * 60_000);
}

/**
 * This host's configured addresses (non-loopback). IPv6 link-local (fe80::/10) addresses are left
 * out: every interface has one and no condition could use them.
 */
export function networkAddresses(): { ipv4: string[]; ipv6: string[] } {
  const ipv4: string[] = [];
  const ipv6: string[] = [];
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) {
      if (a.internal) continue;
      if (a.family === 'IPv4') ipv4.push(a.address);
      else if (a.family === 'IPv6' && !/^fe[89ab]/i.test(a.address)) ipv6.push(a.address);
    }
  }
  return { ipv4, ipv6 };
}

/** Node's `process.arch` in Apple's words (`x64` → `x86_64`). */
export function appleArch(nodeArch: string = process.arch): string {
  if (nodeArch === 'x64') return 'x86_64';
  if (nodeArch === 'ia32') return 'i386';
  return nodeArch;
}

/** Assembles the facts dictionary from what the platform found. */
export function composeFacts(
  machine: MachineInfo,
  context: {
    now: Date;
    applications: readonly AppInfo[];
    addresses: { ipv4: readonly string[]; ipv6: readonly string[] };
  },
): Facts {
  const facts: Record<string, FactValue> = {
    hostname: machine.hostname,
    arch: machine.arch,
    ...osVersFacts(machine.productVersion),
    os_build_number: machine.buildVersion,
    os_build_last_component: buildLastComponent(machine.buildVersion),
    machine_model: machine.machineModel,
    machine_type: machine.machineType,
    serial_number: machine.serialNumber,
    ipv4_address: [...context.addresses.ipv4],
    ipv6_address: [...context.addresses.ipv6],
    date: localDateFact(context.now),
    applications: context.applications.map((a) => ({ ...a })),
    abbot_version: abbotVersion(),
  };
  // Munki sets x86_64_capable only on Intel (true); on arm64 the key is absent, and a condition
  // comparing it is false, exactly as on a Mac running Munki.
  if (machine.arch === 'x86_64') facts['x86_64_capable'] = true;
  if (machine.productName !== undefined) facts['product_name'] = machine.productName;
  return Object.freeze(facts);
}

/** macOS version the sandbox reports when it has no SystemVersion.plist: 14.0 (23A344). */
export const SANDBOX_DEFAULT_OS = { productVersion: '14.0', buildVersion: '23A344' } as const;

/**
 * A sandbox's `hw.model` when machine.plist names none: what a macOS virtual machine on Apple
 * silicon reports, the nearest real thing to a folder standing in for a Mac.
 */
export const SANDBOX_DEFAULT_MODEL = 'VirtualMac2,1';

/**
 * The sandbox's machine values: `SystemVersion.plist` under the root for the OS, `machine.plist` in
 * the state folder for the hardware (keys arch, machine_model, machine_type, serial_number,
 * hostname, product_name), each falling back to this host's own or a documented default.
 */
export async function readSandboxMachine(
  paths: Pick<AbbotPaths, 'systemVersionPlist' | 'machinePlist'>,
  logger: Logger,
): Promise<MachineInfo> {
  const system = await readDict(paths.systemVersionPlist, logger);
  const machine = await readDict(paths.machinePlist, logger);
  const text = (dict: PlistDict | undefined, key: string, file: string): string | undefined => {
    const value = dict?.[key];
    if (value === undefined) return undefined;
    if (typeof value === 'string' && value !== '') return value;
    logger.warn('facts.value.ignored', `${file}: ${key} must be a non-empty string; ignored`, {
      file,
      key,
    });
    return undefined;
  };
  const sys = paths.systemVersionPlist;
  const mac = paths.machinePlist;
  const machineType = text(machine, 'machine_type', mac);
  if (machineType !== undefined && machineType !== 'laptop' && machineType !== 'desktop') {
    logger.warn('facts.value.ignored', `${mac}: machine_type must be laptop or desktop; ignored`);
  }
  return {
    productVersion: text(system, 'ProductVersion', sys) ?? SANDBOX_DEFAULT_OS.productVersion,
    buildVersion: text(system, 'ProductBuildVersion', sys) ?? SANDBOX_DEFAULT_OS.buildVersion,
    arch: text(machine, 'arch', mac) ?? appleArch(),
    machineModel: text(machine, 'machine_model', mac) ?? SANDBOX_DEFAULT_MODEL,
    machineType: machineType === 'laptop' ? 'laptop' : 'desktop',
    serialNumber: text(machine, 'serial_number', mac) ?? 'UNKNOWN',
    hostname: text(machine, 'hostname', mac) ?? osHostname(),
    productName: text(machine, 'product_name', mac),
  };
}

/** A plist file's root dict; undefined (with a warning unless simply absent) otherwise. */
async function readDict(file: string, logger: Logger): Promise<PlistDict | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      logger.warn('facts.file.unreadable', `${file}: cannot read; using defaults`, { file });
    }
    return undefined;
  }
  try {
    const root = parsePlist(bytes, { source: file });
    if (isPlistDict(root)) return root;
    logger.warn('facts.file.invalid', `${file}: not a dictionary; using defaults`, { file });
  } catch (e) {
    logger.warn('facts.file.invalid', `${file}: ${(e as Error).message}; using defaults`, { file });
  }
  return undefined;
}

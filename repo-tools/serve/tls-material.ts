/**
 * The certificate authority and server certificate `repo serve --tls` uses, made with the openssl
 * CLI on first use and kept outside the repo (they are the server's, not content to publish):
 * `$ABBOT_SERVE_TLS_DIR`, else `~/Library/Application Support/Abbot/serve-tls` on a Mac, else
 * `$XDG_CONFIG_HOME/abbot/serve-tls` (`~/.config/abbot/serve-tls`). Clients trust the CA through
 * SoftwareRepoCACertificate. The set is made in a temporary folder and renamed into place, so an
 * interrupted run never leaves half of it behind.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir, hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { AppError, describeError } from '../../lib/errors.js';
import { assertCommandSucceeded, runCommand } from '../../lib/run-command.js';

/** Paths of the PEM files a TLS server needs, plus the CA clients should trust. */
export interface ServeTlsFiles {
  caCert: string;
  cert: string;
  key: string;
  /** True when this call generated them. */
  isNew: boolean;
}

/** Where the generated CA and certificate live for this user. */
export function serveTlsDir(
  env: NodeJS.ProcessEnv,
  platform: NodeJS.Platform = process.platform,
): string {
  const override = env['ABBOT_SERVE_TLS_DIR'];
  if (override) return override;
  const home = env['HOME'] || homedir();
  if (platform === 'darwin')
    return join(home, 'Library', 'Application Support', 'Abbot', 'serve-tls');
  return join(env['XDG_CONFIG_HOME'] || join(home, '.config'), 'abbot', 'serve-tls');
}

/**
 * The names the server certificate is valid for: localhost, the loopback addresses and this
 * machine's host name, so Macs on the network can use `https://<host>:<port>/` too.
 */
export function serverNames(host: string = hostname()): string[] {
  const names = ['DNS:localhost', 'IP:127.0.0.1', 'IP:::1'];
  if (
    /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(
      host,
    ) &&
    host !== 'localhost'
  ) {
    names.push(`DNS:${host}`);
  }
  return names;
}

/** Returns the CA and server certificate in `dir`, generating them first if they are missing. */
export async function ensureServeTls(
  dir: string,
  names: readonly string[] = serverNames(),
  openssl = 'openssl',
): Promise<ServeTlsFiles> {
  const files = (base: string, isNew: boolean): ServeTlsFiles => ({
    caCert: join(base, 'ca.pem'),
    cert: join(base, 'server.pem'),
    key: join(base, 'server.key'),
    isNew,
  });
  const existing = files(dir, false);
  if (await allExist([existing.caCert, existing.cert, existing.key])) return existing;
  if (await stat(dir).catch(() => undefined)) {
    throw new AppError(
      'REPO_INVALID',
      `${dir} exists but does not hold ca.pem, server.pem and server.key`,
      {
        hint: 'remove the folder to have a new CA made, or set ABBOT_SERVE_TLS_DIR',
      },
    );
  }
  await mkdir(dirname(dir), { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  await mkdir(tmp, { mode: 0o700 });
  try {
    await generate(tmp, names, openssl);
    try {
      await rename(tmp, dir);
    } catch (e) {
      // Another run made the set at the same moment: use theirs.
      if (await allExist([existing.caCert, existing.cert, existing.key])) return existing;
      throw e;
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return files(dir, true);
}

async function generate(dir: string, names: readonly string[], openssl: string): Promise<void> {
  const p = (name: string): string => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const run = async (args: string[]): Promise<void> => {
    const argv = [openssl, ...args];
    const result = await runCommand(argv, { timeoutMs: 60_000 }).catch((e: unknown) => {
      throw new AppError(
        'COMMAND_FAILED',
        `cannot make the TLS certificates: ${describeError(e)}`,
        {
          hint: 'install the openssl command, or pass --cert and --key',
          cause: e,
        },
      );
    });
    assertCommandSucceeded(argv, result);
  };
  const label = `${hostname()} ${new Date().toISOString().slice(0, 10)}`;
  // prettier-ignore
  await run([
    'req', '-x509', ...ec, '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '3650',
    '-subj', `/CN=Abbot repo serve CA (${label})`,
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  // prettier-ignore
  await run([
    'req', '-new', ...ec, '-keyout', p('server.key'), '-out', p('server.csr'), '-subj', '/CN=localhost',
  ]);
  // Apple trusts TLS server certificates valid for at most 825 days.
  await writeFile(
    p('server.ext'),
    `subjectAltName=${names.join(',')}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n`,
  );
  // prettier-ignore
  await run([
    'x509', '-req', '-in', p('server.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'),
    '-set_serial', `0x1${randomBytes(8).toString('hex')}`, '-days', '825',
    '-extfile', p('server.ext'), '-out', p('server.pem'),
  ]);
  await rm(p('server.csr'));
  await rm(p('server.ext'));
  await Promise.all([chmod(p('ca.key'), 0o600), chmod(p('server.key'), 0o600)]);
}

async function allExist(paths: readonly string[]): Promise<boolean> {
  const found = await Promise.all(
    paths.map((f) =>
      stat(f)
        .then((s) => s.isFile())
        .catch(() => false),
    ),
  );
  return found.every(Boolean);
}

// A small static HTTPS server for benchmarks: a per-run CA and localhost certificate made with the
// openssl CLI (EC P-256, as small as certificates get), strong ETags with 304s, and byte counters
// taken from the raw sockets (TLS included).
import { createServer } from 'node:https';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';

function openssl(args, cwd) {
  const r = spawnSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
}

/** Makes a CA and a localhost server certificate in a temp folder; returns their paths. */
export function makePki() {
  const dir = mkdtempSync(join(tmpdir(), 'abbot-bench-pki-'));
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key'], dir);
  openssl(
    [
      'req',
      '-x509',
      '-new',
      '-key',
      'ca.key',
      '-subj',
      '/CN=Abbot Bench CA',
      '-days',
      '2',
      '-out',
      'ca.pem',
    ],
    dir,
  );
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'server.key'], dir);
  openssl(
    ['req', '-new', '-key', 'server.key', '-subj', '/CN=localhost', '-out', 'server.csr'],
    dir,
  );
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      'ext.cnf',
      '-out',
      'server.pem',
    ],
    dir,
  );
  return {
    dir,
    ca: join(dir, 'ca.pem'),
    cert: join(dir, 'server.pem'),
    key: join(dir, 'server.key'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Serves `root` over HTTPS on 127.0.0.1; resolves to { url, bytes(), requests(), close() }. */
export async function serveStatic(root, pki) {
  const etags = new Map();
  const sockets = new Set();
  let requests = 0;
  const server = createServer(
    { cert: readFileSync(pki.cert), key: readFileSync(pki.key) },
    (req, res) => {
      requests++;
      const rel = normalize(decodeURIComponent(new URL(req.url, 'https://x').pathname)).replace(
        /^\/+/,
        '',
      );
      if (rel.startsWith('..')) return res.writeHead(400).end();
      const path = join(root, rel);
      let info;
      try {
        info = statSync(path);
      } catch {
        return res.writeHead(404).end();
      }
      if (!info.isFile()) return res.writeHead(404).end();
      const key = `${path}:${info.mtimeMs}:${info.size}`;
      let etag = etags.get(key);
      if (!etag)
        etags.set(
          key,
          (etag = `"${createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 16)}"`),
        );
      const headers = { etag, 'last-modified': info.mtime.toUTCString() };
      if (req.headers['if-none-match'] === etag) return res.writeHead(304, headers).end();
      res.writeHead(200, { ...headers, 'content-length': info.size });
      res.end(readFileSync(path));
    },
  );
  server.on('secureConnection', (s) => sockets.add(s));
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `https://localhost:${server.address().port}`;
  // Sockets are counted at their raw TCP level, so handshakes and TLS records are included.
  const raw = new Set();
  server.on('connection', (s) => raw.add(s));
  return {
    url,
    bytes: () => {
      let total = 0;
      for (const s of raw) total += s.bytesRead + s.bytesWritten;
      return total;
    },
    requests: () => requests,
    connections: () => raw.size,
    connectionBytes: () => [...raw].map((s) => [s.bytesRead, s.bytesWritten]),
    close: () =>
      new Promise((r) => {
        for (const s of raw) s.destroy();
        server.close(r);
      }),
  };
}

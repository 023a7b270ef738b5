// Downloading a 1 GiB installer over loopback HTTPS: Abbot's downloadItem (SHA-256 verified,
// fsynced, renamed into the cache) against `curl -sS -o file --cacert ca.pem URL` in the same run,
// plus the downloading process's peak RSS. The file is served by nginx as docs/serving.md sets it
// up (Node's https server when nginx is not installed); each download runs in a process of its
// own. Needs `npm run build` first (npm run bench does it) and the openssl CLI; temp files are
// removed at the end, even on failure.
//
// Figures: download.abbot_1GiB_s, download.curl_1GiB_s, download.ratio_vs_curl (goal ≤ 1.25),
// download.peak_rss_mb (goal < 150). Each time is the best of RUNS (ABBOT_BENCH_RUNS, default 5),
// as the process saw it from spawn to exit, so Node's start-up counts against Abbot. curl does not
// fsync and Abbot must (a cache file has to survive a power cut intact), so two more figures
// compare like with like: download.curl_fsync_1GiB_s (curl, then an fsync of its file) and
// download.ratio_vs_curl_fsync. Two floors show what this machine allows at all:
// download.floor_receive_and_hash_1GiB_s (undici's leanest API hashing every byte and writing
// nothing) and download.floor_durable_write_1GiB_s (1 GiB from memory to disk with an fsync).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  existsSync,
  fsyncSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { figure } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, '..', 'dist', 'client');
const GIB = 1024 * 1024 * 1024;
const BLOCK = 1024 * 1024;
const RUNS = Number(process.env.ABBOT_BENCH_RUNS ?? 5);

if (process.argv[2] === '--child') {
  await child(JSON.parse(process.argv[3] ?? '{}'));
} else if (process.argv[2] === '--floor-child') {
  await floorChild(JSON.parse(process.argv[3] ?? '{}'));
} else {
  await main();
}

/** The Abbot side, in its own process: one downloadItem, then its result and peak RSS as JSON. */
/**
 * The least any Node client can do here: undici's raw dispatch API (no stream in between), every
 * byte hashed on this thread, nothing written to disk. Prints its SHA-256 as JSON.
 */
async function floorChild({ url, ca }) {
  const { Agent } = await import('undici');
  const agent = new Agent({ connect: { ca: readFileSync(ca) } });
  const { origin, pathname } = new URL(url);
  const hash = createHash('sha256');
  await new Promise((resolve, reject) =>
    agent.dispatch(
      { origin, path: pathname, method: 'GET' },
      {
        onRequestStart() {},
        onResponseStart() {},
        onResponseData: (_controller, chunk) => void hash.update(chunk),
        onResponseEnd: () => resolve(),
        onResponseError: (_controller, e) => reject(e),
      },
    ),
  );
  await agent.close();
  process.stdout.write(JSON.stringify({ sha256: hash.digest('hex') }));
}

async function child({ url, dest, cacheDir, ca, sha256 }) {
  const { createHttpClient } = await import(
    pathToFileURL(join(dist, 'sync', 'http-client.js')).href
  );
  const { downloadItem } = await import(
    pathToFileURL(join(dist, 'download', 'download-item.js')).href
  );
  const logger = { debug() {}, info() {}, warn() {}, error: (e, m) => console.error(m) };
  const client = createHttpClient({
    caCertificatePath: ca,
    followRedirects: 'none',
    timeoutMs: 60_000,
    retries: 0,
    userAgent: 'abbot-bench/1.0',
    logger,
  });
  const result = await downloadItem({
    client,
    url,
    dest,
    cacheDir,
    expectedHash: sha256,
    verification: 'hash_strict',
    logger,
  });
  await client.close();
  // maxRSS is in KiB.
  const usage = process.resourceUsage();
  process.stdout.write(
    JSON.stringify({
      ...result,
      maxRssKiB: usage.maxRSS,
      cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6,
    }),
  );
}

async function main() {
  if (!existsSync(join(dist, 'download', 'download-item.js'))) {
    console.error('download.bench: dist/ is missing; run `npx tsc -p tsconfig.build.json` first');
    process.exitCode = 1;
    return;
  }
  const work = mkdtempSync(join(tmpdir(), 'abbot-bench-download-'));
  const cleanup = () => rmSync(work, { recursive: true, force: true });
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  let server;
  try {
    const pki = makePki(work);
    const source = join(work, 'Big-1.0.pkg');
    const sha256 = writeBigFile(source, GIB);
    server = process.env.ABBOT_BENCH_NODE_SERVER ? undefined : await serveWithNginx(work, pki);
    server ??= await serve(source, pki);
    const url = `https://localhost:${server.port}/Big-1.0.pkg`;
    const cacheDir = join(work, 'Cache');
    const dest = join(cacheDir, 'Big-1.0.pkg');
    const curlOut = join(work, 'curl.pkg');
    const hasCurl = spawnSync('curl', ['--version']).status === 0;

    let abbot = Infinity;
    let curl = Infinity;
    let curlFsync = Infinity;
    let peakRssKiB = 0;
    let floor = Infinity;
    for (let run = 0; run < RUNS; run++) {
      // Fresh each time: no cache hit, no partial to resume, no writeback of the last run pending.
      rmSync(cacheDir, { recursive: true, force: true });
      rmSync(curlOut, { force: true });
      flushDisk();
      const a = await timeProcess(process.execPath, [
        fileURLToPath(import.meta.url),
        '--child',
        JSON.stringify({ url, dest, cacheDir, ca: pki.ca, sha256 }),
      ]);
      const result = JSON.parse(a.stdout);
      if (result.sha256 !== sha256 || statSync(dest).size !== GIB) {
        throw new Error(`abbot download is wrong: ${a.stdout}`);
      }
      abbot = Math.min(abbot, a.seconds);
      if (process.env.ABBOT_BENCH_VERBOSE) {
        console.error(
          `run ${run + 1}: abbot ${a.seconds.toFixed(3)} s (${result.seconds.toFixed(3)} s inside, ${result.cpuSeconds.toFixed(3)} s CPU)`,
        );
      }
      peakRssKiB = Math.max(peakRssKiB, result.maxRssKiB);
      if (hasCurl) {
        rmSync(cacheDir, { recursive: true, force: true });
        flushDisk();
        const c = await timeProcess('curl', ['-sS', '-o', curlOut, '--cacert', pki.ca, url]);
        if (statSync(curlOut).size !== GIB) throw new Error('curl download is short');
        curl = Math.min(curl, c.seconds);
        if (process.env.ABBOT_BENCH_VERBOSE)
          console.error(`run ${run + 1}: curl ${c.seconds.toFixed(3)} s`);
        curlFsync = Math.min(curlFsync, c.seconds + timeFsync(curlOut));
      }
      const f = await timeProcess(process.execPath, [
        fileURLToPath(import.meta.url),
        '--floor-child',
        JSON.stringify({ url, ca: pki.ca }),
      ]);
      if (JSON.parse(f.stdout).sha256 !== sha256) throw new Error('floor download is wrong');
      floor = Math.min(floor, f.seconds);
    }

    figure(
      'download.abbot_1GiB_s',
      abbot,
      's',
      `hash verified + fsync; ${server.name} server; best of ${RUNS}`,
    );
    if (hasCurl) {
      figure('download.curl_1GiB_s', curl, 's', `curl -sS -o file --cacert; best of ${RUNS}`);
      figure('download.ratio_vs_curl', abbot / curl, 'x', 'goal <= 1.25');
      figure('download.curl_fsync_1GiB_s', curlFsync, 's', `curl, then fsync; best of ${RUNS}`);
      figure('download.ratio_vs_curl_fsync', abbot / curlFsync, 'x', 'like for like: both durable');
    } else {
      console.log('download.curl_1GiB_s skipped: curl is not installed');
    }
    figure('download.peak_rss_mb', peakRssKiB / 1024, 'MB', 'abbot child process; goal < 150');
    figure(
      'download.floor_receive_and_hash_1GiB_s',
      floor,
      's',
      `undici dispatch + SHA-256, nothing written: the least a verified download takes here; best of ${RUNS}`,
    );
    if (hasCurl) figure('download.floor_ratio_vs_curl', floor / curl, 'x', 'before any disk write');
    const durable = timeDurableWrite(join(work, 'durable.bin'), GIB);
    figure('download.floor_durable_write_1GiB_s', durable, 's', 'write 1 GiB + fsync, no network');
  } finally {
    await server?.close();
    cleanup();
  }
}

/** A throwaway CA and a certificate for localhost, made with the openssl CLI. */
function makePki(dir) {
  const p = (name) => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const quiet = { stdio: ['ignore', 'ignore', 'pipe'] };
  // prettier-ignore
  execFileSync('openssl', ['req', '-x509', ...ec, '-keyout', p('ca.key'), '-out', p('ca.pem'),
    '-days', '1', '-subj', '/CN=Abbot Bench CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign'], quiet);
  // prettier-ignore
  execFileSync('openssl', ['req', '-new', ...ec, '-keyout', p('server.key'), '-out', p('server.csr'),
    '-subj', '/CN=localhost'], quiet);
  const ext = p('server.ext');
  writeFileSync(
    ext,
    'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n',
  );
  // prettier-ignore
  execFileSync('openssl', ['x509', '-req', '-in', p('server.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'),
    '-set_serial', '0x1' + randomBytes(8).toString('hex'), '-days', '1', '-extfile', ext,
    '-out', p('server.pem')], quiet);
  return { ca: p('ca.pem'), cert: p('server.pem'), key: p('server.key') };
}

/** Writes `size` bytes (a 1 MiB random block, repeated) and returns their SHA-256. */
function writeBigFile(path, size) {
  const block = randomBytes(BLOCK);
  const hash = createHash('sha256');
  const fd = openSync(path, 'w');
  try {
    for (let written = 0; written < size; written += BLOCK) {
      writeSync(fd, block);
      hash.update(block);
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/** A minimal static HTTPS server for one file: plain GET, Content-Length and a strong ETag. */
function serve(file, pki) {
  const size = statSync(file).size;
  const etag = `"${size.toString(16)}-${statSync(file).mtimeMs.toString(16)}"`;
  const server = https.createServer(
    { key: readFileSync(pki.key), cert: readFileSync(pki.cert) },
    (req, res) => {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405).end();
        return;
      }
      res.writeHead(200, {
        'content-length': String(size),
        'content-type': 'application/octet-stream',
        etag,
      });
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      createReadStream(file, { highWaterMark: BLOCK }).pipe(res);
    },
  );
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        name: 'node https',
        port: server.address().port,
        close: () => {
          const closed = new Promise((done) => server.close(done));
          server.closeAllConnections();
          return closed;
        },
      }),
    ),
  );
}

/**
 * nginx serving `dir` over TLS, as docs/serving.md recommends for a real repo; undefined when
 * nginx is not installed (the bench then falls back to Node's https server). Runs in the
 * foreground under a prefix inside `dir`, so it needs neither root nor /etc.
 */
async function serveWithNginx(dir, pki) {
  const nginx = '/usr/sbin/nginx';
  if (!existsSync(nginx)) return undefined;
  const prefix = join(dir, 'nginx');
  const p = (name) => join(prefix, name);
  mkdirSync(p('tmp'), { recursive: true });
  const port = await freePort();
  const conf = [
    // As root, the worker would otherwise drop to `nobody` and not read the temporary folder.
    process.getuid?.() === 0 ? `user ${userInfo().username};` : '',
    'worker_processes 1;',
    `pid ${p('nginx.pid')};`,
    `error_log ${p('error.log')} warn;`,
    'events { worker_connections 16; }',
    'http {',
    `  client_body_temp_path ${p('tmp')};`,
    `  proxy_temp_path ${p('tmp')};`,
    `  fastcgi_temp_path ${p('tmp')};`,
    `  uwsgi_temp_path ${p('tmp')};`,
    `  scgi_temp_path ${p('tmp')};`,
    '  access_log off;',
    '  server {',
    `    listen 127.0.0.1:${port} ssl;`,
    `    ssl_certificate ${pki.cert};`,
    `    ssl_certificate_key ${pki.key};`,
    '    ssl_protocols TLSv1.2 TLSv1.3;',
    `    root ${dir};`,
    '    default_type application/octet-stream;',
    '    location / { try_files $uri =404; }',
    '  }',
    '}',
    '',
  ].join('\n');
  writeFileSync(p('nginx.conf'), conf);
  const args = ['-p', prefix, '-c', p('nginx.conf'), '-e', p('error.log')];
  const proc = spawn(nginx, [...args, '-g', 'daemon off;'], { stdio: 'ignore' });
  const exited = new Promise((done) => proc.once('exit', done));
  await waitForPort(port, exited);
  return {
    name: 'nginx',
    port,
    close: async () => {
      proc.kill('SIGQUIT');
      await exited;
    },
  };
}

async function freePort() {
  const server = net.createServer();
  await new Promise((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address();
  await new Promise((done) => server.close(done));
  return port;
}

/** Resolves once something accepts connections on `port`; rejects if `exited` settles first. */
async function waitForPort(port, exited) {
  let gone = false;
  void exited.then(() => (gone = true));
  for (const deadline = Date.now() + 10_000; Date.now() < deadline && !gone;) {
    const open = await new Promise((done) => {
      const socket = net.connect(port, '127.0.0.1', () => (socket.end(), done(true)));
      socket.on('error', () => done(false));
    });
    if (open) return;
    await new Promise((done) => setTimeout(done, 50));
  }
  throw new Error(`nginx did not start on port ${port}`);
}

/** Runs a command to completion; resolves with its wall time and stdout, rejects if it fails. */
function timeProcess(cmd, args) {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    proc.stdout.on('data', (d) => out.push(d));
    proc.stderr.on('data', (d) => err.push(d));
    proc.on('error', reject);
    proc.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      if (code !== 0) {
        reject(new Error(`${cmd} exited ${code}: ${Buffer.concat(err).toString().slice(-2000)}`));
        return;
      }
      resolve({ seconds, stdout: Buffer.concat(out).toString() });
    });
  });
}

/** Seconds an fsync of `path` takes (what curl leaves undone and Abbot must do). */
function timeFsync(path) {
  const fd = openSync(path, 'r+');
  try {
    const start = process.hrtime.bigint();
    fsyncSync(fd);
    return Number(process.hrtime.bigint() - start) / 1e9;
  } finally {
    closeSync(fd);
  }
}

/** Seconds to write `size` bytes from memory to `path` and fsync it (the disk's share of a download). */
function timeDurableWrite(path, size) {
  flushDisk();
  const block = randomBytes(BLOCK * 2);
  const start = process.hrtime.bigint();
  const fd = openSync(path, 'w');
  try {
    for (let written = 0; written < size; written += block.length) writeSync(fd, block);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  rmSync(path, { force: true });
  return seconds;
}

/** Writes back dirty pages so one run's leftovers do not slow the next. */
function flushDisk() {
  spawnSync('sync');
}

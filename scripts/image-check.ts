/**
 * Runs a Doctor image without a container runtime: its exported filesystem in a chroot (own mount
 * namespace with /proc and /dev), as the image's user, with the image's environment, working directory,
 * entrypoint and command, on a fresh /data. Checks what a `docker compose up` user relies on: /health
 * answers and the HEALTHCHECK passes, the token guards the API, the example site is crawled and searched,
 * the CLI works inside the running container (`docker compose exec`) and with the server stopped
 * (`docker compose run --rm`), the database survives a restart, and Chromium renders JavaScript pages
 * exactly when the image ships it, and the local embedding provider (transformers.js + onnxruntime-node)
 * embeds pages and queries with a tiny ONNX model made on the spot (skipped without Debian's python3-onnx).
 * Also: the README's `tar` backup of /data works, a PDF is read (`doctor add`), and every package Doctor's
 * compiled code imports loads (the image is pruned and has no shell; these keep the pruning honest).
 *
 * Usage (as root): node --import tsx scripts/image-check.ts --rootfs DIR --inspect FILE --chromium true|false
 *   [--out FILE.json]. FILE is `podman image inspect` output. Prints one line per check; exit 1 on a failure.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chownSync, cpSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { builtinModules } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { serveDirectory } from '../src/cli/static-site.js';
import { makeCjkPdf, makePdf } from '../test/helpers/pdf.js';
import { makeTinyModel, python, TINY_HIDDEN } from '../test/helpers/tiny-model.js';

interface ImageInspect {
  Config: { User?: string; Env?: string[]; Entrypoint?: string[]; Cmd?: string[]; WorkingDir?: string; ExposedPorts?: Record<string, unknown>; Volumes?: Record<string, unknown> };
  Healthcheck?: { Test?: string[] } | null;
}
interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** Not run (a tool this machine lacks); neither pass nor fail. */
  skipped?: boolean;
}

const { values: args } = parseArgs({
  options: { rootfs: { type: 'string' }, inspect: { type: 'string' }, chromium: { type: 'string' }, out: { type: 'string' } },
});
if (!args.rootfs || !args.inspect || !['true', 'false'].includes(args.chromium ?? '')) {
  console.error('usage: image-check.ts --rootfs DIR --inspect FILE --chromium true|false [--out FILE.json]');
  process.exit(2);
}
const ROOTFS = resolve(args.rootfs);
const IMAGE = (JSON.parse(readFileSync(args.inspect, 'utf8')) as ImageInspect[])[0]!;
const WITH_CHROMIUM = args.chromium === 'true';
const TOKEN = 'image-test-token-' + Math.random().toString(36).slice(2);
const REPO = resolve(import.meta.dirname, '..');
const checks: Check[] = [];
const logDir = mkdtempSync(join(tmpdir(), 'doctor-image-check-'));

function check(name: string, ok: boolean, detail = ''): void {
  checks.push({ name, ok, detail });
  console.log(`${ok ? 'PASS' : 'FAIL'}  ${name}${detail ? `: ${detail}` : ''}`);
}

function skip(name: string, why: string): void {
  checks.push({ name, ok: true, detail: why, skipped: true });
  console.log(`SKIP  ${name}: ${why}`);
}

// --- the image's user and environment -------------------------------------------------------------
function imageUser(): { uid: number; gid: number; home: string; name: string } {
  const spec = IMAGE.Config.User || 'root';
  const [userPart, groupPart] = spec.split(':') as [string, string | undefined];
  const passwd = readFileSync(join(ROOTFS, 'etc/passwd'), 'utf8').split('\n').map((l) => l.split(':'));
  const entry = passwd.find((f) => f[0] === userPart || f[2] === userPart);
  if (!entry) throw new Error(`image user ${spec} is not in the image's /etc/passwd`);
  const gid = groupPart ? Number(groupPart) : Number(entry[3]);
  return { name: entry[0]!, uid: Number(entry[2]), gid, home: entry[5]! };
}
const USER = imageUser();
const baseEnv: Record<string, string> = { HOME: USER.home };
for (const kv of IMAGE.Config.Env ?? []) {
  const i = kv.indexOf('=');
  baseEnv[kv.slice(0, i)] = kv.slice(i + 1);
}
const WORKDIR = IMAGE.Config.WorkingDir || '/';
const ENTRY = [...(IMAGE.Config.Entrypoint ?? []), ...(IMAGE.Config.Cmd ?? [])];

/** Namespaces of a new container: mount always; `pid` makes the entrypoint PID 1, `net` gives it its own network. */
interface Isolation {
  pid?: boolean;
  net?: boolean;
}

/** `sh -c` script run in the container's mount namespace: mounts /proc and /dev, then chroots as the image's user. */
const ENTER = 'exec chroot --userspec="$U" "$R" /usr/bin/env -i -C "$W" "$@"';
const MOUNT_AND_ENTER = `mount -t proc proc "$R/proc" && mount --rbind /dev "$R/dev" && ${ENTER}`;

function spawnLogged(cmd: string, args: string[], logName: string): ChildProcess {
  const child = spawn(cmd, args, {
    env: { R: ROOTFS, U: `${USER.uid}:${USER.gid}`, W: WORKDIR, PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
    detached: true, // its own process group: killGroup reaches everything it started
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(join(logDir, `${logName}.log`), { flags: 'a' });
  // Both streams into one log, closed when the process's streams are (not when the first one ends).
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log, { end: false });
  child.once('close', () => log.end());
  return child;
}

const envArgs = (env: Record<string, string>) => Object.entries({ ...baseEnv, ...env }).map(([k, v]) => `${k}=${v}`);

/** A new container from the image (`docker run`): argv in the chroot with the image's user and environment. */
function inImage(argv: string[], env: Record<string, string>, logName: string, iso: Isolation = {}): ChildProcess {
  const ns = [...(iso.pid ? ['--pid', '--fork'] : []), ...(iso.net ? ['--net'] : [])];
  return spawnLogged('unshare', ['--mount', '--propagation', 'private', ...ns, 'sh', '-c', MOUNT_AND_ENTER, 'sh', ...envArgs(env), ...argv], logName);
}

/** `docker exec`: argv in a running container's mount and process namespaces, with its environment. */
function execIn(server: Server, argv: string[], logName: string): ChildProcess {
  // The container's PID 1 is the child that `unshare --fork` started.
  const children = readFileSync(`/proc/${server.child.pid}/task/${server.child.pid}/children`, 'utf8').trim().split(/\s+/);
  return spawnLogged('nsenter', ['--target', children[0]!, '--mount', '--pid', 'sh', '-c', ENTER, 'sh', ...envArgs(server.env), ...argv], logName);
}

async function finished(child: ChildProcess, timeoutMs = 120_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => killGroup(child, 'SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    /* already gone */
  }
}

const logTail = (name: string) => {
  const file = join(logDir, `${name}.log`);
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-15).join('\n') : '(no log)';
};

// --- HTTP -----------------------------------------------------------------------------------------
interface Reply {
  status: number;
  json: any;
}
function http(port: number, method: string, path: string, opts: { body?: unknown; token?: string; host?: string } = {}): Promise<Reply> {
  return new Promise((done, fail) => {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.host) headers.host = opts.host;
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    if (payload) headers['content-type'] = 'application/json';
    // A fresh connection per request (agent: false): Node 20's global agent keeps sockets alive, and one the
    // server closed while idle (during a slow step) failed the next request with ECONNRESET.
    const req = request({ host: '127.0.0.1', port, method, path, headers, timeout: 30_000, agent: false }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => {
        let json: unknown = text;
        try {
          json = JSON.parse(text);
        } catch {
          /* not JSON */
        }
        done({ status: res.statusCode ?? 0, json });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', fail);
    req.end(payload);
  });
}

async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  srv.close();
  return port;
}

// --- the server ---------------------------------------------------------------------------------
interface Server {
  child: ChildProcess;
  port: number;
  env: Record<string, string>;
  exited: Promise<number | null>;
}
/** `docker compose up`: the entrypoint as PID 1 of its own process namespace (network shared with this host). */
async function startServer(port: number, logName: string, extraEnv: Record<string, string> = {}): Promise<Server> {
  const env = { DOCTOR_PORT: String(port), DOCTOR_API_TOKEN: TOKEN, DOCTOR_ALLOW_HOSTS: '127.0.0.1', ...extraEnv };
  const child = inImage(ENTRY, env, logName, { pid: true });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline && !gone) {
    try {
      if ((await http(port, 'GET', '/health')).status === 200) return { child, port, env, exited };
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  killGroup(child, 'SIGKILL');
  throw new Error(`the server did not answer /health (${gone ? 'it exited' : 'timeout'}):\n${logTail(logName)}`);
}

async function stopServer(server: Server): Promise<number | null> {
  killGroup(server.child, 'SIGTERM'); // as `docker stop`: PID 1 (tini) forwards it to Doctor
  const timer = setTimeout(() => killGroup(server.child, 'SIGKILL'), 60_000);
  const code = await server.exited;
  clearTimeout(timer);
  return code;
}

async function waitForJob(port: number, jobId: string): Promise<any> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    const r = await http(port, 'GET', `/job_progress?job_id=${jobId}`, { token: TOKEN });
    if (r.status !== 200) throw new Error(`job_progress answered ${r.status}: ${JSON.stringify(r.json)}`);
    if (r.json.completed || ['completed', 'failed', 'cancelled'].includes(r.json.status)) return r.json;
    if (Date.now() > deadline) throw new Error(`job ${jobId} still ${r.json.status} after 3 minutes`);
    await new Promise((res) => setTimeout(res, 500));
  }
}

const searchPath = (query: string, tag: string, mode = 'hybrid') =>
  `/search_docs?query=${encodeURIComponent(query)}&tags=${tag}&max_results=5&mode=${mode}`;

// --- the checks ---------------------------------------------------------------------------------
async function main(): Promise<void> {
  const cfg = IMAGE.Config;
  check('runs as a non-root user', USER.uid !== 0, `${cfg.User} (uid ${USER.uid})`);
  check('exposes 9111, /data is a volume, DATA_DIR=/data', !!cfg.ExposedPorts?.['9111/tcp'] && !!cfg.Volumes?.['/data'] && baseEnv.DATA_DIR === '/data');
  check('default command is `doctor serve --host 0.0.0.0`', ENTRY.includes('doctor') && ENTRY.join(' ').endsWith('serve --host 0.0.0.0'), ENTRY.join(' '));
  const healthTest = IMAGE.Healthcheck?.Test ?? [];
  check('has a HEALTHCHECK', healthTest[0] === 'CMD' || healthTest[0] === 'CMD-SHELL', healthTest.slice(0, 3).join(' '));

  const data = join(ROOTFS, 'data');
  const st = statSync(data);
  check('/data belongs to the image user and starts empty', st.uid === USER.uid && readdirSync(data).length === 0, `uid ${st.uid}, ${readdirSync(data).length} entries`);

  // The example site, plus a page whose text exists only after JavaScript runs.
  const site = mkdtempSync(join(tmpdir(), 'doctor-image-site-'));
  cpSync(join(REPO, 'examples/site'), site, { recursive: true });
  mkdirSync(join(site, 'js'));
  writeFileSync(
    join(site, 'js/index.html'),
    '<!DOCTYPE html><html><head><title>Rendered page</title></head><body><p>This paragraph is in the HTML as served, before any script runs.</p><div id="app"></div><script>' +
      "document.getElementById('app').innerHTML = '<h1>Rendered by script</h1><p>The quetzalcoatlus keyword appears only after JavaScript runs in a browser.</p>';" +
      '</script></body></html>',
  );
  const htmlPages = readdirSync(join(REPO, 'examples/site'), { recursive: true }).filter((f) => String(f).endsWith('.html')).length;
  const { url: siteUrl, server: siteServer } = await serveDirectory(site);

  const port = await freePort();
  let server: Server | undefined;
  try {
    const t0 = performance.now();
    server = await startServer(port, 'serve-1');
    const health = await http(port, 'GET', '/health');
    check('`doctor serve` starts as the image user; /health answers', health.status === 200, `${((performance.now() - t0) / 1000).toFixed(1)} s, ${JSON.stringify(health.json)}`);

    const hc = await finished(execIn(server, healthTest.slice(1), 'healthcheck'), 30_000); // Docker runs it like `exec`
    check('the HEALTHCHECK command passes', hc.code === 0, `exit ${hc.code}`);

    const noToken = await http(port, 'GET', searchPath('retry', 'kettle'));
    const foreignHost = await http(port, 'GET', searchPath('retry', 'kettle'), { token: TOKEN, host: 'doctor:9111' });
    check('the token guards the API (401 without it); with it, any Host name is served', noToken.status === 401 && foreignHost.status === 200, `without: ${noToken.status}, Host doctor:9111 with token: ${foreignHost.status}`);

    const t1 = performance.now();
    const started = await http(port, 'POST', '/fetch_url', { token: TOKEN, body: { url: `${siteUrl}index.html`, tags: ['kettle'], max_pages: 50 } });
    if (started.status !== 200) throw new Error(`fetch_url answered ${started.status}: ${JSON.stringify(started.json)}`);
    const job = await waitForJob(port, started.json.job_id);
    check('the example site is crawled', job.status === 'completed' && job.pages_crawled === htmlPages, `${job.status}, ${job.pages_crawled}/${htmlPages} pages in ${((performance.now() - t1) / 1000).toFixed(1)} s`);

    const found = await http(port, 'GET', searchPath('retry with exponential backoff', 'kettle'), { token: TOKEN });
    const top = found.json?.results?.[0];
    check('and searched', found.status === 200 && String(top?.url).endsWith('/guide/retries.html'), `top hit ${top?.url} (${top?.title})`);

    // The web interface: its page (a shell that needs no token) and the script it loads, which the image must
    // carry beside the bundle (src/http/ui/assets).
    const page = await http(port, 'GET', '/');
    const script = /src="(\/ui\/assets\/app\.js\?v=[0-9a-f]+)"/.exec(String(page.json))?.[1];
    const asset = script ? await http(port, 'GET', script) : undefined;
    // And the API's documentation: Swagger UI's page (its files served by @fastify/static) and the OpenAPI
    // description as YAML (the yaml package).
    const docs = await http(port, 'GET', '/docs', { token: TOKEN });
    const yaml = await http(port, 'GET', '/docs/yaml', { token: TOKEN });
    check(
      'the web interface and the API docs are served: the page and its script, /docs and /docs/yaml',
      page.status === 200 && asset?.status === 200 && String(asset.json).length > 1000 && docs.status === 200 && /^openapi: /m.test(String(yaml.json)),
      `page: ${page.status}${script ? `, ${script}: ${asset?.status}, ${String(asset?.json).length} bytes` : `, no script in it: ${String(page.json).slice(0, 200)}`}; /docs: ${docs.status}, /docs/yaml: ${yaml.status} ${String(yaml.json).slice(0, 20)}`,
    );

    const viaServer = await finished(execIn(server, ['doctor', 'search', 'retry with exponential backoff', '--tags', 'kettle', '--json'], 'cli-exec'));
    const execTop = parseCliTop(viaServer.stdout);
    const info = JSON.parse(readFileSync(join(data, 'server.json'), 'utf8')) as { url: string; pid: number };
    check(
      'CLI in the running container talks to the server (`docker compose exec doctor doctor ...`)',
      viaServer.code === 0 && execTop === top?.url,
      `exit ${viaServer.code}, top hit ${execTop}; server.json: ${info.url}, pid ${info.pid} in the container`,
    );

    // `docker compose run --rm` while the server runs: another container, whose 127.0.0.1 is not the
    // server's. The CLI cannot reach the server and DuckDB's lock keeps it out of the file.
    const otherContainer = await finished(inImage(['doctor', 'search', 'retry', '--json'], { DOCTOR_API_TOKEN: TOKEN }, 'cli-run-while-serving', { pid: true, net: true }));
    const message = otherContainer.stderr.trim().replace(/\(IO Error:[^)]*\)/, '(...)');
    check(
      'CLI in another container while the server runs is refused with a clear message (use `exec`)',
      otherContainer.code !== 0 && /in use|held by/i.test(otherContainer.stderr) && /docker compose exec/.test(otherContainer.stderr),
      `exit ${otherContainer.code}: ${message.slice(0, 400)}`,
    );

    const rendered = await http(port, 'POST', '/fetch_url', { token: TOKEN, body: { url: `${siteUrl}js/index.html`, tags: ['rendered'], max_pages: 1, render: 'always' } });
    const renderJob = await waitForJob(port, rendered.json.job_id);
    const hit = await http(port, 'GET', searchPath('quetzalcoatlus', 'rendered', 'keyword'), { token: TOKEN });
    const renderedFound = (hit.json?.results ?? []).length > 0;
    check(
      WITH_CHROMIUM ? 'Chromium renders a JavaScript-only page' : 'without Chromium a JavaScript-only page is kept as static HTML',
      renderJob.status === 'completed' && renderedFound === WITH_CHROMIUM,
      `job ${renderJob.status}${renderJob.error_message ? ` (${renderJob.error_message})` : ''}, script-made text ${renderedFound ? 'found' : 'not found'}`,
    );

    const before = (await http(port, 'GET', '/health')).json;
    const code = await stopServer(server);
    server = undefined;
    check('SIGTERM stops the server cleanly and removes server.json', code === 0 && !existsSync(join(data, 'server.json')), `exit ${code}`);

    const local = await finished(inImage(['doctor', 'search', 'retry with exponential backoff', '--tags', 'kettle', '--json'], { DOCTOR_API_TOKEN: TOKEN }, 'cli-run', { pid: true, net: true }));
    check('CLI with the server stopped opens /data itself (`docker compose run --rm doctor ...`)', local.code === 0 && parseCliTop(local.stdout) === top?.url, `exit ${local.code}, top hit ${parseCliTop(local.stdout)}`);

    server = await startServer(port, 'serve-2');
    const after = (await http(port, 'GET', '/health')).json;
    const again = await http(port, 'GET', searchPath('retry with exponential backoff', 'kettle'), { token: TOKEN });
    check(
      'the database survives a restart',
      after.pages === before.pages && after.chunks === before.chunks && again.json?.results?.[0]?.url === top?.url,
      `pages ${before.pages} -> ${after.pages}, chunks ${before.chunks} -> ${after.chunks}`,
    );
    await stopServer(server);
    server = undefined;

    // README's backup: `docker compose run --rm -T --entrypoint tar doctor -C /data -cf - .` (the server stopped).
    const backup = await finished(inImage(['tar', '-C', '/data', '-cf', '-', '.'], {}, 'backup-tar', { pid: true, net: true }));
    check('the backup command of the README (`--entrypoint tar`) archives /data', backup.code === 0 && backup.stdout.includes('./doctor.duckdb'), `exit ${backup.code}, ${backup.stdout.length} bytes${backup.stderr ? `, ${backup.stderr.trim().slice(0, 200)}` : ''}`);

    const owners = readdirSync(data).map((f) => statSync(join(data, f)).uid);
    check('everything in /data is written by the image user', owners.length > 0 && owners.every((u) => u === USER.uid), readdirSync(data).join(', '));

    await importsCheck();
    await timeZoneCheck();
    await pdfCheck();
    await localEmbeddingCheck(port, siteUrl);
  } catch (e) {
    check('unexpected error', false, (e as Error).message);
  } finally {
    if (server) killGroup(server.child, 'SIGKILL');
    siteServer.close();
    rmSync(site, { recursive: true, force: true });
  }

  const failed = checks.filter((c) => !c.ok);
  const skipped = checks.filter((c) => c.skipped).length;
  if (args.out) writeFileSync(args.out, JSON.stringify({ checks }, null, 2));
  if (!failed.length) rmSync(logDir, { recursive: true, force: true });
  const ran = `${checks.length - skipped} checks${skipped ? ` (${skipped} skipped)` : ''}`;
  console.log(failed.length ? `${failed.length} of ${ran} failed; logs in ${logDir}` : `all ${ran} passed`);
  process.exit(failed.length ? 1 : 0);
}

/**
 * DOCTOR_EMBEDDING_PROVIDER=local with a model directory: the server loads transformers.js and
 * onnxruntime-node in its embedder thread, embeds the crawled pages and a vector-only query. This is what
 * proves that the files the Dockerfile prunes (onnxruntime-web, other platforms' binaries) are not needed.
 */
async function localEmbeddingCheck(port: number, siteUrl: string): Promise<void> {
  const name = 'the local embedder (transformers.js + onnxruntime-node) embeds pages and queries with an ONNX model';
  const hasOnnx = spawnSync(python(), ['-c', 'import onnx, numpy'], { stdio: 'ignore' }).status === 0;
  if (!hasOnnx) {
    skip(name, `skipped: ${python()} cannot import onnx/numpy, needed to make the tiny test model (apt-get install python3-onnx)`);
    return;
  }
  // The model in the image's filesystem, readable by its user; a separate data directory (not /data).
  const modelInImage = '/tmp/doctor-image-check-model';
  const dataInImage = '/tmp/doctor-image-check-data';
  makeTinyModel(join(ROOTFS, modelInImage));
  mkdirSync(join(ROOTFS, dataInImage));
  chownSync(join(ROOTFS, dataInImage), USER.uid, USER.gid);
  const env = { DATA_DIR: dataInImage, DOCTOR_EMBEDDING_PROVIDER: 'local', DOCTOR_EMBEDDING_MODEL: modelInImage };
  const server = await startServer(port, 'serve-local', env);
  try {
    const started = await http(port, 'POST', '/fetch_url', { token: TOKEN, body: { url: `${siteUrl}index.html`, tags: ['kettle'], max_pages: 50 } });
    if (started.status !== 200) throw new Error(`fetch_url answered ${started.status}: ${JSON.stringify(started.json)}`);
    const job = await waitForJob(port, started.json.job_id);
    const health = (await http(port, 'GET', '/health')).json;
    const found = await http(port, 'GET', searchPath('retry with exponential backoff', 'kettle', 'vector'), { token: TOKEN });
    const results = (found.json?.results ?? []) as { url: string }[];
    const emb = health?.embedding ?? {};
    check(
      name,
      job.status === 'completed' && emb.provider === 'local' && emb.dimension === TINY_HIDDEN && health.chunks > 0 && found.status === 200 && results.length > 0,
      `job ${job.status}${job.error_message ? ` (${job.error_message})` : ''}, embedding ${JSON.stringify(emb)}, ${health?.chunks} chunks, vector search: ${found.status}, ${results.length} results`,
    );
  } finally {
    await stopServer(server);
  }
}

/**
 * Every package Doctor's compiled code imports (static and dynamic imports, and createRequire; with the
 * image's bundle, also every package it leaves out, as its externals.json lists them) loads in the image, including those no other check reaches (bullmq and ioredis for workers, the Qdrant gRPC client for
 * migrations, the MCP SDK's transports): the node_modules pruning and the system's trimming left out nothing
 * they need. Not imported here: tsx (only when Doctor runs from its TypeScript sources), pdf.js (loaded the
 * way pdf.ts does it by the PDF check) and, without Chromium, playwright-core (left out with it).
 */
async function importsCheck(): Promise<void> {
  const specs = new Set<string>();
  const builtins = new Set(builtinModules);
  // The bundle (scripts/image-bundle.mjs) names the packages it leaves out, some loaded with createRequire
  // under a minified name the scan below cannot see.
  // Those it loads with require are required, the others imported. Not loaded here: sharp (a stub in the
  // image, image-prune.sh) and pdf.js (below).
  const required = new Set<string>();
  const bundleInfo = join(ROOTFS, 'app/dist/cli/externals.json');
  if (existsSync(bundleInfo)) {
    const info = JSON.parse(readFileSync(bundleInfo, 'utf8')) as { externals: string[]; required: string[] };
    for (const spec of info.required) required.add(spec);
    for (const spec of info.externals) {
      if (spec === 'sharp' || spec === 'pdfjs-dist' || (!WITH_CHROMIUM && spec === 'playwright-core')) continue;
      specs.add(spec);
    }
  }
  for (const f of readdirSync(join(ROOTFS, 'app/dist'), { recursive: true })) {
    if (!String(f).endsWith('.js')) continue;
    const code = readFileSync(join(ROOTFS, 'app/dist', String(f)), 'utf8');
    for (const m of code.matchAll(/(?:\bfrom\s*|\bimport\(\s*|createRequire\([^)]*\)\(\s*)['"]([^'"./][^'"]*)['"]/g)) {
      const spec = m[1]!;
      if (!/^(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*(\/[\w./-]+)?$/i.test(spec)) continue; // a package name, not text such as `from ', '`
      if (spec.startsWith('node:') || builtins.has(spec) || spec.startsWith('tsx/') || spec.startsWith('pdfjs-dist/')) continue;
      if (!WITH_CHROMIUM && spec === 'playwright-core') continue;
      specs.add(spec);
    }
  }
  const script =
    'const require = (await import("node:module")).createRequire("/app/dist/cli/main.js"); const needs = new Set(JSON.parse(process.argv[2]));' +
    ' const failed = []; for (const s of JSON.parse(process.argv[1])) { try { if (needs.has(s)) require(s); else await import(s); } catch (e) { failed.push(`${s}: ${String(e.message).split("\\n")[0]}`); } }' +
    ' console.log(JSON.stringify(failed)); process.exit(0);';
  const run = await finished(
    inImage(['node', '--input-type=module', '-e', script, JSON.stringify([...specs].sort()), JSON.stringify([...required])], {}, 'imports', { pid: true, net: true }),
  );
  let failed: string[] | undefined;
  try {
    failed = JSON.parse(run.stdout.trim().split('\n').pop() ?? '') as string[];
  } catch {
    /* the script did not run */
  }
  check(
    "every package Doctor's code imports loads in the image",
    run.code === 0 && specs.size >= 8 && failed?.length === 0,
    failed === undefined ? `exit ${run.code}: ${run.stderr.trim().slice(0, 300)}` : failed.length ? `failed: ${failed.join('; ').slice(0, 600)}` : `${specs.size} packages: ${[...specs].sort().join(', ')}`,
  );
}

/**
 * `doctor add` of a directory with PDFs (`docker compose run --rm doctor add ...`): pdf.js reads their text
 * in the image, which leaves out pdf.js's optional @napi-rs/canvas (scripts/image-prune.sh), and says
 * nothing about the missing canvas. One PDF is Japanese in a font that is not embedded (Shift-JIS, Adobe's
 * predefined 90ms-RKSJ-H CMap): its text needs the CMaps that the image's pruned pdfjs-dist must keep.
 */
/**
 * TZ works without Debian's tzdata (the image leaves it out): Node and DuckDB read time zones from their own
 * ICU data. 1 July 2024 12:00 UTC is 14:00 in Berlin (summer time) in both.
 */
async function timeZoneCheck(): Promise<void> {
  const script =
    'const { DuckDBInstance } = await import("/app/node_modules/@duckdb/node-api/lib/index.js"); const c = await (await DuckDBInstance.create(":memory:")).connect();' +
    ' const r = await c.runAndReadAll("SELECT strftime(TIMESTAMPTZ \'2024-07-01 12:00:00+00\', \'%H:%M\') AS t"); const t = new Date(Date.UTC(2024, 6, 1, 12));' +
    ' console.log(JSON.stringify({ node: `${String(t.getHours()).padStart(2, "0")}:${String(t.getMinutes()).padStart(2, "0")}`, duckdb: r.getRowObjects()[0].t }));';
  const run = await finished(inImage(['node', '--input-type=module', '-e', script], { TZ: 'Europe/Berlin' }, 'timezone', { pid: true }));
  let got: { node?: string; duckdb?: string } = {};
  try {
    got = JSON.parse(run.stdout.trim().split('\n').pop() ?? '') as typeof got;
  } catch {
    /* reported below */
  }
  check(
    'TZ=Europe/Berlin is honoured without tzdata (Node and DuckDB use ICU)',
    run.code === 0 && got.node === '14:00' && got.duckdb === '14:00',
    run.code === 0 ? `12:00 UTC is ${got.node} in Node, ${got.duckdb} in DuckDB` : `exit ${run.code}: ${run.stderr.trim().slice(0, 300)}`,
  );
}

async function pdfCheck(): Promise<void> {
  const docs = '/tmp/doctor-image-check-docs';
  mkdirSync(join(ROOTFS, docs), { recursive: true });
  writeFileSync(join(ROOTFS, docs, 'handbook.pdf'), makePdf({ title: 'Kettle Handbook', pages: [['The handbook explains xylophonic tuning of kettles.'], ['Second page.']] }));
  writeFileSync(join(ROOTFS, docs, 'tebiki.pdf'), makeCjkPdf({ title: '設定の手引き', font: 'japanese-sjis', pages: [['設定ファイルの説明です。']] }));
  const add = await finished(inImage(['doctor', 'add', docs, '--tags', 'handbook'], { DOCTOR_API_TOKEN: TOKEN }, 'cli-add-pdf', { pid: true, net: true }));
  const found = await finished(inImage(['doctor', 'search', 'xylophonic tuning', '--tags', 'handbook', '--json'], { DOCTOR_API_TOKEN: TOKEN }, 'cli-search-pdf', { pid: true, net: true }));
  const top = parseCliTop(found.stdout);
  const noise = /canvas|polyfill|Warning:/i.test(add.stderr);
  check(
    'a PDF is read and found (`doctor add`; pdf.js without @napi-rs/canvas, no warnings)',
    add.code === 0 && found.code === 0 && String(top).endsWith('handbook.pdf') && !noise,
    `add: exit ${add.code}${noise ? ` (stderr: ${add.stderr.slice(0, 300)})` : ''}, ${add.stdout.split('\n')[1]?.trim() ?? ''}; search: exit ${found.code}, top hit ${top}`,
  );
  // The keyword search finds the Japanese run as written (the whole run between punctuation).
  const cjk = await finished(inImage(['doctor', 'search', '設定ファイルの説明です', '--tags', 'handbook', '--json'], { DOCTOR_API_TOKEN: TOKEN }, 'cli-search-cjk-pdf', { pid: true, net: true }));
  const cjkTop = parseCliTop(cjk.stdout);
  check(
    'a Japanese PDF in a non-embedded font (pdf.js CMaps in the image) is read and found',
    cjk.code === 0 && String(cjkTop).endsWith('tebiki.pdf'),
    `search: exit ${cjk.code}, top hit ${cjkTop}${cjk.code !== 0 ? ` (stderr: ${cjk.stderr.slice(0, 300)})` : ''}`,
  );
}

/** The first result URL of `doctor search --json` output. */
function parseCliTop(stdout: string): string | undefined {
  try {
    const out = JSON.parse(stdout) as { results?: { url: string }[] };
    return out.results?.[0]?.url;
  } catch {
    return undefined;
  }
}

await main();

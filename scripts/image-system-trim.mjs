// Trims the Debian system of Doctor's container image (Dockerfile, `system` stage) to the packages the
// running service needs: `node scripts/image-system-trim.mjs [--root DIR] [--dry-run] PACKAGE...`.
//
// Kept: the PACKAGEs given (the runtime's roots: glibc, libstdc++, tini, Chromium if present, ...) and
// everything they depend on (Depends and Pre-Depends, as installed), except the tools below unless named. Removed: every
// other package's files, that is the package manager (apt, dpkg, debconf), the shells and the command-line
// tools of Debian's base system (bash, dash, coreutils, util-linux, tar, ...), and the libraries only
// those use (PAM, GnuTLS, Berkeley DB, ...). Nothing at run time starts a shell or a tool: the entrypoint is
// tini -> node, the HEALTHCHECK runs node, and Chromium is started by playwright-core without a shell.
// Only /usr/bin/env stays from coreutils: `doctor` is a `#!/usr/bin/env node` script.
//
// The dpkg database is rewritten to list only the kept packages (so `dpkg -l` equivalents and image
// scanners, which read /var/lib/dpkg/status, see what is really there). Run with Node (the image's own
// node), because the shell and coreutils this deletes would be gone half-way through a shell script.
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';

/**
 * Packages never kept, even when a kept package depends on them: their dependents need them only in
 * maintainer scripts (install / upgrade time), or they are desktop helpers a headless browser never calls.
 */
const TOOLS = new Set([
  'apt', 'adduser', 'base-passwd', 'bash', 'bsdutils', 'coreutils', 'dash', 'debconf', 'debianutils', 'diffutils',
  'doctor-x11-utils-stub', 'dpkg', 'findutils', 'gpgv', 'grep', 'gzip', 'hostname', 'init-system-helpers', 'login',
  'mawk', 'mount', 'ncurses-bin', 'passwd', 'perl-base', 'sed', 'sensible-utils', 'sysvinit-utils', 'tar', 'ucf',
  'usr-is-merged', 'util-linux', 'util-linux-extra', 'x11-utils', 'xdg-utils',
]);
/** Kept packages whose commands go (their libraries, data and configuration stay): glibc's tools (ldconfig,
 * ldd, locale, iconv, getent, ...) run at install time or by hand, never by the service. */
const WITHOUT_COMMANDS = new Set(['libc-bin']);
/** Single files kept from removed packages. */
const KEEP_FILES = new Set(['/usr/bin/env']);
/** Not package-owned, or owned by a kept package, and never used at run time. */
const EXTRA = [
  // tini's statically linked copy (the entrypoint is /usr/bin/tini).
  '/usr/bin/tini-static',
  // glibc's iconv modules: Node and Chromium convert text with ICU, and UTF-8/ASCII/Latin-1 are built in.
  '/usr/lib/x86_64-linux-gnu/gconv', '/usr/lib/aarch64-linux-gnu/gconv',
  '/var/cache/debconf', '/var/cache/ldconfig', '/var/log/apt', '/var/log/dpkg.log', '/var/log/alternatives.log',
  '/var/log/bootstrap.log', '/var/lib/apt', '/var/cache/apt', '/etc/apt', '/etc/dpkg', '/var/lib/dpkg/available',
  '/var/lib/dpkg/triggers', '/var/lib/dpkg/updates', '/var/lib/dpkg/alternatives', '/var/lib/dpkg/diversions',
  '/var/lib/dpkg/diversions-old', '/var/lib/dpkg/statoverride', '/var/lib/dpkg/lock', '/var/lib/dpkg/lock-frontend',
  '/var/lib/dpkg/cmethopt', '/var/lib/dpkg/arch',
  // glibc's compiled C.UTF-8 locale: nothing sets LANG, and Node, DuckDB and Chromium handle text with ICU.
  '/usr/lib/locale/C.utf8',
];
/**
 * Libraries of kept packages that nothing in the image links against or loads (no DT_NEEDED entry of node,
 * Chromium, the native add-ons or the libraries they need names them): glibc's vector maths, debugging and
 * profiling preloads and compatibility stubs; brotli's encoder (Chromium decodes only); expat's wide-char
 * build. Removed by file name prefix from the multiarch library folder.
 */
const UNUSED_LIBRARIES = [
  'libmvec.so', 'libc_malloc_debug.so', 'libmemusage.so', 'libpcprofile.so', 'libthread_db.so', 'libBrokenLocale.so',
  'libbrotlienc.so', 'libexpatw.so',
];

const { values: opts, positionals: roots } = parseArgs({
  options: { root: { type: 'string', default: '/' }, 'dry-run': { type: 'boolean', default: false } },
  allowPositionals: true,
});
const R = opts.root;
const at = (p) => join(R, p);
if (!roots.length) {
  console.error('usage: node image-system-trim.mjs [--root DIR] [--dry-run] PACKAGE...');
  process.exit(2);
}

// --- the dpkg database ---------------------------------------------------------------------------
const statusFile = at('/var/lib/dpkg/status');
const stanzas = readFileSync(statusFile, 'utf8').split(/\n\n+/).filter((s) => s.trim());
const field = (stanza, name) => {
  const m = stanza.match(new RegExp(`^${name}: ?(.*(?:\\n[ \\t].*)*)`, 'm'));
  return m ? m[1].replace(/\n[ \t]/g, ' ').trim() : '';
};
/** Installed packages: name -> stanza. */
const installed = new Map();
/** Virtual package -> installed packages that provide it. */
const providers = new Map();
for (const s of stanzas) {
  if (!/ installed$/.test(field(s, 'Status'))) continue;
  const name = field(s, 'Package');
  installed.set(name, s);
  for (const p of field(s, 'Provides').split(',')) {
    const v = p.trim().split(/[\s(]/)[0];
    if (v) providers.set(v, [...(providers.get(v) ?? []), name]);
  }
}
const bare = (dep) => dep.trim().split(/[\s(]/)[0].replace(/:any$/, '');

// --- what to keep: the roots and their dependencies ------------------------------------------------
const keep = new Set();
const queue = [];
// PACKAGE? : kept if installed (tzdata is in bookworm's base, not in every base image).
for (const root of roots) {
  const r = root.replace(/\?$/, '');
  if (installed.has(r)) queue.push(r);
  else if (!root.endsWith('?')) {
    console.error(`image-system-trim: ${r} is not installed`);
    process.exit(1);
  }
}
const rootSet = new Set(queue); // a tool named as a root is kept (tar, for backups of /data)
while (queue.length) {
  const pkg = queue.shift();
  if (keep.has(pkg) || (TOOLS.has(pkg) && !rootSet.has(pkg))) continue;
  keep.add(pkg);
  const s = installed.get(pkg);
  for (const group of [field(s, 'Pre-Depends'), field(s, 'Depends')].join(',').split(',')) {
    if (!group.trim()) continue;
    // The first alternative that is installed (directly or as a provided virtual package).
    for (const alt of group.split('|').map(bare)) {
      const found = installed.has(alt) ? [alt] : providers.get(alt) ?? [];
      if (found.length) {
        queue.push(found[0]);
        break;
      }
    }
  }
}
const drop = [...installed.keys()].filter((p) => !keep.has(p)).sort();
const isCommand = (p) => /^\/(usr\/)?s?bin\/[^/]+$/.test(p);

// --- files: what the dropped packages own and no kept package does ---------------------------------
const info = at('/var/lib/dpkg/info');
const listOf = (pkg) => {
  const files = [];
  for (const f of readdirSync(info)) {
    if (f === `${pkg}.list` || (f.startsWith(`${pkg}:`) && f.endsWith('.list'))) files.push(...readFileSync(join(info, f), 'utf8').split('\n').filter(Boolean));
  }
  return files;
};
const keptPaths = new Set([...keep].flatMap((pkg) => listOf(pkg).filter((p) => !(WITHOUT_COMMANDS.has(pkg) && isCommand(p)))));
// With merged /usr (/bin -> usr/bin), one file can be listed under either name.
const alias = (p) => p.replace(/^\/(bin|sbin|lib|lib64)\//, '/usr/$1/');
const keptAliases = new Set([...keptPaths].map(alias));
const isKept = (p) => keptPaths.has(p) || keptAliases.has(alias(p)) || KEEP_FILES.has(alias(p));

const dirs = new Set();
let files = 0;
let bytes = 0;
const removable = [...drop.flatMap(listOf), ...[...WITHOUT_COMMANDS].filter((p) => keep.has(p)).flatMap(listOf).filter(isCommand)];
{
  for (const p of removable) {
    if (isKept(p)) continue;
    let st;
    try {
      st = lstatSync(at(p));
    } catch {
      continue; // already gone (documentation removed earlier, or a path through a symlinked directory)
    }
    // Directories (and merged /usr's /bin -> usr/bin links): removed below if empty, links never.
    if (st.isDirectory() || (st.isSymbolicLink() && existsSync(at(p)) && statSync(at(p)).isDirectory())) {
      if (st.isDirectory()) dirs.add(p);
      continue;
    }
    files++;
    bytes += st.size;
    if (!opts['dry-run']) rmSync(at(p), { force: true });
  }
}
// Directories the dropped packages created, deepest first, if nothing else is in them now.
for (const d of [...dirs].sort((a, b) => b.length - a.length)) {
  if (keptPaths.has(d) || opts['dry-run']) continue;
  try {
    rmdirSync(at(d));
  } catch {
    /* not empty, or shared */
  }
}
for (const p of EXTRA) {
  if (existsSync(at(p)) && !opts['dry-run']) rmSync(at(p), { recursive: true, force: true });
}
for (const dir of ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu']) {
  if (!existsSync(at(dir)) || opts['dry-run']) continue;
  for (const f of readdirSync(at(dir))) {
    if (UNUSED_LIBRARIES.some((prefix) => f.startsWith(prefix))) rmSync(at(`${dir}/${f}`), { force: true });
  }
}
// Commands and alternatives that now point nowhere (awk, pager, which, ...: links into /etc/alternatives).
/** Whether the link at p (inside the root) leads to nothing; absolute targets are resolved inside the root. */
const dangling = (p, hops = 0) => {
  let st;
  try {
    st = lstatSync(at(p));
  } catch {
    return true;
  }
  if (!st.isSymbolicLink()) return false;
  if (hops > 20) return true;
  const target = readlinkSync(at(p));
  return dangling(target.startsWith('/') ? target : join(dirname(p), target), hops + 1);
};
if (!opts['dry-run']) {
  for (const dir of ['/etc/alternatives', '/usr/bin', '/usr/sbin']) {
    if (!existsSync(at(dir))) continue;
    for (const f of readdirSync(at(dir))) {
      const p = `${dir}/${f}`;
      if (lstatSync(at(p)).isSymbolicLink() && dangling(p)) rmSync(at(p), { force: true });
    }
  }
}

// --- the dpkg database: only what is still there --------------------------------------------------
if (!opts['dry-run']) {
  const kept = stanzas.filter((s) => keep.has(field(s, 'Package')));
  writeFileSync(statusFile, kept.join('\n\n') + '\n');
  rmSync(`${statusFile}-old`, { force: true });
  // Per package, the file list stays (`dpkg -L`, the image test's size breakdown); the maintainer
  // scripts and checksums go.
  for (const f of readdirSync(info)) {
    if (f === 'format') continue;
    const pkg = f.replace(/(:[^.]+)?\.[^.]+$/, '');
    if (!keep.has(pkg) || !f.endsWith('.list')) rmSync(join(info, f), { force: true });
  }
}

console.log(`kept ${keep.size} packages: ${[...keep].sort().join(' ')}`);
console.log(`removed ${drop.length} packages (${files} files, ${(bytes / 1e6).toFixed(1)} MB): ${drop.join(' ')}`);

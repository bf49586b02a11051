/**
 * What the tests need from the machine beyond node_modules, found or installed by the test command
 * itself so that `npm install && npm test` works on a fresh machine:
 *  - chromium: a Chromium or Chrome for the e2e tests. In order: CHROMIUM_PATH, a system browser
 *    (PATH and the usual locations), Playwright's browser cache, `playwright-core install chromium`
 *    where it can download, then Debian's package (apt-get, as root on Debian/Ubuntu).
 *  - chattr: e2fsprogs' chattr, which the read-only project test uses as root (root ignores
 *    permission bits, so the file is made immutable instead); only needed as root.
 *  - fashion-mnist: Debian's dataset-fashion-mnist, for a test that asks for it.
 *  - openssh: sshd, ssh and ssh-keygen (Debian's openssh-server and openssh-client), for the tests
 *    of the engine over ssh, which start their own sshd on 127.0.0.1.
 *  - slurm: slurmctld, slurmd, sbatch and munged (Debian's slurm-wlm and munge), for the sweep on
 *    Slurm tests, which start their own one-node cluster (test/fixtures/slurm.ts).
 * What cannot be had ends the run with one line saying what to install; nothing is skipped.
 *
 * `npm test` runs this file first (so a missing browser fails in seconds, not after the other
 * suites); the integration and e2e global setups call it again, so `npx vitest run FILE` works too.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export type Need = 'chromium' | 'chattr' | 'fashion-mnist' | 'openssh' | 'slurm';
const NEEDS: readonly Need[] = ['chromium', 'chattr', 'fashion-mnist', 'openssh', 'slurm'];
/** What the suite as a whole needs (the near-duplicate test reads Fashion-MNIST, the ssh engine tests an sshd, the Slurm tests a cluster). */
export const SUITE_NEEDS: readonly Need[] = ['chromium', 'chattr', 'fashion-mnist', 'openssh', 'slurm'];

/** The machine as the finders see it; unit tests pass a made-up one (temporary folders, a fake `run`). */
export interface Machine {
  env: Record<string, string | undefined>;
  platform: NodeJS.Platform;
  home: string;
  isRoot: boolean;
  /** Debian or Ubuntu with apt-get. */
  debian: boolean;
  /** Absolute places a system Chromium or Chrome is usually installed (checked after PATH). */
  browserLocations: string[];
  /** Runs a command; ok is false when it could not start, failed or ran out of time. */
  run(cmd: string, args: string[], opts: { timeoutMs: number; env?: Record<string, string> }): { ok: boolean; output: string };
  log(line: string): void;
}

/** Thrown with the one line the user reads: what is missing and how to get it (no stack: not a bug). */
export class PrerequisiteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Missing test prerequisite';
    this.stack = `${this.name}: ${message}`;
  }
}

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
const FASHION_FILES = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'];
const BROWSER_NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable', 'chrome'];
// A download that cannot connect must give up quickly; one that can may take minutes.
const DOWNLOAD_CONNECT_TIMEOUT_MS = 15_000;
const INSTALL_TIMEOUT_MS = 15 * 60_000;

export function isExecutable(file: string): boolean {
  try {
    if (!fs.statSync(file).isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first of `names` found executable on PATH. */
export function onPath(m: Machine, names: string[]): string | undefined {
  const exts = m.platform === 'win32' ? ['.exe', ''] : [''];
  for (const dir of (m.env['PATH'] ?? '').split(path.delimiter).filter(Boolean)) {
    for (const name of names) for (const ext of exts) if (isExecutable(path.join(dir, name + ext))) return path.join(dir, name + ext);
  }
  return undefined;
}

export function defaultBrowserLocations(platform: NodeJS.Platform, env: Record<string, string | undefined>): string[] {
  if (platform === 'darwin') return ['/Applications/Chromium.app/Contents/MacOS/Chromium', '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome'];
  if (platform === 'win32') {
    const roots = [env['PROGRAMFILES'], env['PROGRAMFILES(X86)'], env['LOCALAPPDATA']].filter((r): r is string => !!r);
    return roots.flatMap((r) => [path.join(r, 'Chromium', 'Application', 'chrome.exe'), path.join(r, 'Google', 'Chrome', 'Application', 'chrome.exe')]);
  }
  return ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/lib/chromium/chromium', '/snap/bin/chromium', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable', '/opt/google/chrome/chrome'];
}

export function systemChromium(m: Machine): string | undefined {
  return onPath(m, BROWSER_NAMES) ?? m.browserLocations.find(isExecutable);
}

/** Where Playwright keeps the browsers it downloads (PLAYWRIGHT_BROWSERS_PATH, else its per-OS default). */
export function playwrightCache(m: Machine): string {
  const set = m.env['PLAYWRIGHT_BROWSERS_PATH'];
  if (set && set !== '0') return set;
  if (m.platform === 'darwin') return path.join(m.home, 'Library', 'Caches', 'ms-playwright');
  if (m.platform === 'win32') return path.join(m.env['LOCALAPPDATA'] ?? path.join(m.home, 'AppData', 'Local'), 'ms-playwright');
  return path.join(m.env['XDG_CACHE_HOME'] ?? path.join(m.home, '.cache'), 'ms-playwright');
}

const CACHE_EXECUTABLES = [
  'chrome-linux64/chrome',
  'chrome-linux/chrome',
  'chrome-mac-arm64/Chromium.app/Contents/MacOS/Chromium',
  'chrome-mac/Chromium.app/Contents/MacOS/Chromium',
  'chrome-win64/chrome.exe',
  'chrome-win/chrome.exe',
  'chrome-headless-shell-linux64/chrome-headless-shell',
  'chrome-linux/headless_shell',
];

/** A browser in Playwright's cache: full Chromium before the headless shell, newest revision first. */
export function cachedChromium(m: Machine): string | undefined {
  let entries: string[];
  try {
    entries = fs.readdirSync(playwrightCache(m));
  } catch {
    return undefined;
  }
  const builds = entries
    .map((name) => ({ name, m: /^chromium(_headless_shell)?-(\d+)$/.exec(name) }))
    .filter((e): e is { name: string; m: RegExpExecArray } => e.m !== null)
    .sort((a, b) => Number(!!a.m[1]) - Number(!!b.m[1]) || Number(b.m[2]) - Number(a.m[2]));
  for (const { name } of builds) {
    for (const rel of CACHE_EXECUTABLES) {
      const file = path.join(playwrightCache(m), name, ...rel.split('/'));
      if (isExecutable(file)) return file;
    }
  }
  return undefined;
}

/** The line of a failed command's output that says why: its first error line, else its last line. */
function reason(output: string): string {
  const lines = output.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => /^(E:|Error\b)/.test(l)) ?? lines.at(-1) ?? 'no output';
}

/** `playwright-core install chromium` into Playwright's cache; false when it cannot download. */
function playwrightInstall(m: Machine): boolean {
  const cli = path.join(path.dirname(createRequire(import.meta.url).resolve('playwright-core/package.json')), 'cli.js');
  m.log('No Chromium found; trying `playwright-core install chromium`.');
  const r = m.run(process.execPath, [cli, 'install', 'chromium'], { timeoutMs: INSTALL_TIMEOUT_MS, env: { PLAYWRIGHT_DOWNLOAD_CONNECTION_TIMEOUT: String(DOWNLOAD_CONNECT_TIMEOUT_MS) } });
  if (!r.ok) m.log(`Playwright could not download Chromium (${reason(r.output)}).`);
  return r.ok;
}

/** Installs a Debian package as root; refreshes the package lists once if the package is unknown. */
export function aptInstall(m: Machine, pkg: string): boolean {
  if (!m.isRoot || !m.debian) return false;
  m.log(`Installing Debian's ${pkg} (apt-get install -y ${pkg}).`);
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  const install = (): { ok: boolean; output: string } => m.run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', pkg], { timeoutMs: INSTALL_TIMEOUT_MS, env });
  let r = install();
  if (!r.ok) {
    m.run('apt-get', ['update', '-qq'], { timeoutMs: INSTALL_TIMEOUT_MS, env });
    r = install();
  }
  if (!r.ok) m.log(`apt-get could not install ${pkg} (${reason(r.output)}).`);
  return r.ok;
}

export function findChromium(m: Machine): string {
  const set = m.env['CHROMIUM_PATH'];
  if (set) {
    if (isExecutable(set)) return set;
    throw new PrerequisiteError(`CHROMIUM_PATH is ${set}, which is not an executable file: point it at a Chromium or Chrome, or unset it.`);
  }
  const found = systemChromium(m) ?? cachedChromium(m);
  if (found) return found;
  if (playwrightInstall(m)) {
    const downloaded = cachedChromium(m);
    if (downloaded) return downloaded;
  }
  if (aptInstall(m, 'chromium')) {
    const installed = systemChromium(m);
    if (installed) return installed;
  }
  throw new PrerequisiteError(
    'The e2e tests need Chromium and none could be found or installed: install one (Debian/Ubuntu: apt-get install -y chromium; elsewhere: npx playwright-core install chromium, or Chrome) or set CHROMIUM_PATH to its executable.',
  );
}

/**
 * Only root needs chattr (see the file's comment); returns its path, or undefined when not needed.
 * It must also be allowed to make a file immutable in the temporary folder (a container may lack
 * CAP_LINUX_IMMUTABLE, a file system may not support it).
 */
export function findChattr(m: Machine, tmp = os.tmpdir()): string | undefined {
  if (!m.isRoot) return undefined;
  const look = (): string | undefined => onPath(m, ['chattr']);
  const chattr = look() ?? (aptInstall(m, 'e2fsprogs') ? look() : undefined);
  if (!chattr) throw new PrerequisiteError('Run as root, the read-only project test needs chattr: install e2fsprogs (apt-get install -y e2fsprogs), or run the tests as a normal user.');
  const probe = path.join(fs.mkdtempSync(path.join(tmp, 'ts-chattr-')), 'probe');
  fs.writeFileSync(probe, '');
  try {
    const r = m.run(chattr, ['+i', probe], { timeoutMs: 10_000 });
    if (!r.ok) throw new PrerequisiteError(`Run as root, the read-only project test makes a file immutable, which is refused in ${tmp} (${reason(r.output)}): run the tests as a normal user, or allow it (a container needs CAP_LINUX_IMMUTABLE).`);
  } finally {
    m.run(chattr, ['-i', probe], { timeoutMs: 10_000 });
    fs.rmSync(path.dirname(probe), { recursive: true, force: true });
  }
  return chattr;
}

export function findFashionMnist(m: Machine, dir = m.env['FASHION_MNIST_DIR'] ?? FASHION_MNIST_DIR): string {
  const complete = (): boolean => FASHION_FILES.every((f) => fs.existsSync(path.join(dir, f)));
  if (complete() || (aptInstall(m, 'dataset-fashion-mnist') && complete())) return dir;
  throw new PrerequisiteError(`Fashion-MNIST is missing from ${dir}: install Debian's dataset-fashion-mnist (apt-get install -y dataset-fashion-mnist as root), or set FASHION_MNIST_DIR to a folder with its four .gz files.`);
}

/** The path of sshd, with ssh and ssh-keygen present too (sshd is often outside a user's PATH, in /usr/sbin). */
export function findOpenssh(m: Machine): string {
  const dirs = [...(m.env['PATH'] ?? '').split(path.delimiter).filter(Boolean), '/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin'];
  const look = (): string | undefined => {
    const sshd = dirs.map((d) => path.join(d, 'sshd')).find(isExecutable);
    const client = dirs.some((d) => isExecutable(path.join(d, 'ssh'))) && dirs.some((d) => isExecutable(path.join(d, 'ssh-keygen')));
    return sshd && client ? sshd : undefined;
  };
  const found = look() ?? (aptInstall(m, 'openssh-server') && aptInstall(m, 'openssh-client') ? look() : undefined);
  if (found) return found;
  throw new PrerequisiteError('The engine-over-ssh tests need OpenSSH (sshd, ssh, ssh-keygen): install openssh-server and openssh-client (apt-get install -y openssh-server openssh-client as root).');
}

/** The Slurm and munge programs a one-node test cluster starts, by name (daemons live in sbin, outside a user's PATH). */
export const SLURM_PROGRAMS = ['slurmctld', 'slurmd', 'munged', 'sbatch', 'squeue', 'scontrol', 'scancel', 'sinfo'] as const;

/** The folder of sbatch with every other Slurm and munge program found (in it or in an sbin beside). */
export function findSlurm(m: Machine): string {
  const dirs = [...(m.env['PATH'] ?? '').split(path.delimiter).filter(Boolean), '/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin'];
  const look = (): string | undefined => {
    const all = SLURM_PROGRAMS.every((p) => dirs.some((d) => isExecutable(path.join(d, p))));
    return all ? dirs.find((d) => isExecutable(path.join(d, 'sbatch'))) : undefined;
  };
  const found = look() ?? (aptInstall(m, 'munge') && aptInstall(m, 'slurm-wlm') ? look() : undefined);
  if (found) return found;
  throw new PrerequisiteError('The sweep-on-Slurm tests need Slurm and munge (slurmctld, slurmd, sbatch, munged): install slurm-wlm and munge (apt-get install -y slurm-wlm munge as root).');
}

export function thisMachine(): Machine {
  const env = process.env;
  return {
    env,
    platform: process.platform,
    home: os.homedir(),
    isRoot: process.getuid?.() === 0,
    debian: fs.existsSync('/etc/debian_version') && isExecutable('/usr/bin/apt-get'),
    browserLocations: defaultBrowserLocations(process.platform, env),
    run(cmd, args, opts) {
      const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: opts.timeoutMs, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
      return { ok: r.status === 0, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
    },
    log: (line) => process.stderr.write(`test prerequisites: ${line}\n`),
  };
}

/** Finds (or installs) each need; the values are paths (chattr: undefined when not needed). */
export function ensure(needs: readonly Need[], m = thisMachine()): Partial<Record<Need, string>> {
  const found: Partial<Record<Need, string>> = {};
  for (const need of needs) {
    const where = need === 'chromium' ? findChromium(m) : need === 'chattr' ? findChattr(m) : need === 'openssh' ? findOpenssh(m) : need === 'slurm' ? findSlurm(m) : findFashionMnist(m);
    if (where !== undefined) found[need] = where;
  }
  return found;
}

// `node --import tsx test/setup/prerequisites.ts [need...]` (npm test's first step): everything the
// suite needs by default; prints what it found, or the one line and exits 1.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const needs = process.argv.slice(2) as Need[];
  const unknown = needs.filter((n) => !NEEDS.includes(n));
  if (unknown.length > 0) {
    process.stderr.write(`unknown prerequisite ${unknown.join(', ')}; known: ${NEEDS.join(', ')}\n`);
    process.exit(2);
  }
  try {
    const found = ensure(needs.length > 0 ? needs : SUITE_NEEDS);
    for (const [need, where] of Object.entries(found)) process.stdout.write(`test prerequisites: ${need}: ${where}\n`);
  } catch (err) {
    if (!(err instanceof PrerequisiteError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
}

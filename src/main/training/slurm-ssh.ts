/**
 * A Slurm cluster reached through its login node over ssh (the SSH engine's address,
 * ssh://[user@]host[:port][/path to transfer-studio]), for a studio on a machine without the Slurm
 * commands: the commands run there (sshRunner), and the work folder is the login node's, mirrored
 * in a local folder (sshWorkdir): bundles are written here and pushed (images and models only when
 * the login node lacks them, by content hash), and what the tasks write comes back by pull, each
 * file within a size limit, links and other non-files kept as what they are (the readers refuse
 * them). Every word reaches the remote shell quoted (shellQuote): a value never becomes a command.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StudioError } from '../../shared/errors';
import type { CommandResult, CommandRunner } from './slurm-commands';
import type { PullOptions, SlurmWorkdir } from './slurm-workdir';
import { shellQuote, sshCommandArgs, sshTarget, type SshAddress } from './ssh-channel';

interface SshResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** Runs `words` (quoted here) on the server; `stdin`: a process whose stdout feeds it. */
function sshRun(a: SshAddress, words: string[], options: { stdin?: NodeJS.ReadableStream; timeoutMs?: number } = {}): Promise<SshResult> {
  return new Promise((resolve) => {
    const child = spawn('ssh', sshCommandArgs(a, words.map(shellQuote).join(' ')), { stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout?.on('data', (d: Buffer) => out.push(d));
    child.stderr?.on('data', (d: Buffer) => (err += String(d)));
    if (options.stdin && child.stdin) options.stdin.pipe(child.stdin);
    child.stdin?.on('error', () => undefined);
    const timer = setTimeout(() => child.kill('SIGTERM'), options.timeoutMs ?? 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout: Buffer.alloc(0), stderr: `ssh could not be run: ${e.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr: err || (signal ? `ssh ended by ${signal}` : '') });
    });
  });
}

/** An ssh failure of its own (exit 255) as a message naming the login node. */
function sshFailed(a: SshAddress, what: string, r: SshResult): StudioError {
  const why = r.stderr.trim().split('\n').at(-1) || `exit code ${r.code}`;
  return new StudioError('internal', `${what} on ${sshTarget(a)} failed: ${why}${r.code === 255 ? ` (check the address, your key and known_hosts with \`ssh ${sshTarget(a)}\`)` : ''}`);
}

/** The Slurm commands on the login node: `ssh … host -- 'cmd' 'arg'…`. */
export function sshRunner(a: SshAddress): CommandRunner {
  return async (cmd, args): Promise<CommandResult> => {
    const r = await sshRun(a, [cmd, ...args]);
    // 255: ssh itself failed; 127: the login node has no such command. Both: the command did not run.
    const code = r.code === 255 || r.code === 127 ? -1 : r.code;
    return { code, stdout: r.stdout.toString('utf8'), stderr: code === -1 ? `${r.stderr.trim() || `exit code ${r.code}`} (on ${sshTarget(a)})` : r.stderr };
  };
}

/** One entry of the login node's listing: type (f file, d folder, l link, other), size, mtime (s), path relative to the work folder. */
interface Listed {
  type: string;
  size: number;
  mtime: number;
  rel: string;
}

const LIST_SCRIPT = 'cd -- "$1" || exit 3; shift; for p; do [ -e "$p" ] || [ -L "$p" ] || continue; find "$p" $DEPTH -printf \'%y\\t%s\\t%T@\\t%p\\0\'; done';
const READ_SCRIPT = 'cd -- "$1" || exit 3; shift; while [ $# -gt 1 ]; do head -c "$1" -- "$2" || exit 4; shift 2; done';
const MISSING_SCRIPT = 'cd -- "$1" || exit 3; shift; for p; do [ -e "$p" ] || printf \'%s\\0\' "$p"; done';
const REMOVE_SCRIPT = 'cd -- "$1" || exit 3; shift; rm -rf -- "$@"';
const UNPACK_SCRIPT = [
  'set -e',
  'root=$1; shift',
  'mkdir -p -- "$root"',
  'tmp="$root/.upload-$$"',
  'mkdir -p -- "$tmp"',
  'tar -C "$tmp" -xf -',
  // Each pushed path replaces the one there whole (a rename), so a task never reads half a file.
  'for rel; do mkdir -p -- "$(dirname -- "$root/$rel")"; if [ -d "$root/$rel" ] && [ ! -L "$root/$rel" ]; then rm -rf -- "$root/$rel"; fi; mv -f -- "$tmp/$rel" "$root/$rel"; done',
  'rm -rf -- "$tmp"',
].join('\n');

/**
 * `words` in groups whose command line stays well below what one argument may be on Linux (128 KB:
 * the remote command reaches the login shell as one argument); `group` items stay together.
 */
function chunks(words: string[], group = 1, maxChars = 60_000): string[][] {
  const out: string[][] = [];
  let current: string[] = [];
  let size = 0;
  for (let i = 0; i < words.length; i += group) {
    const item = words.slice(i, i + group);
    const n = item.reduce((sum, w) => sum + w.length + 3, 0);
    if (current.length && size + n > maxChars) {
      out.push(current);
      current = [];
      size = 0;
    }
    current.push(...item);
    size += n;
  }
  if (current.length) out.push(current);
  return out;
}

/** A relative path the login node listed, refused if it could leave the mirror. */
function safeRel(rel: string): string {
  if (!rel || rel.startsWith('/') || rel.split('/').some((s) => s === '..' || s === '')) throw new StudioError('bad_input', `The login node listed ${JSON.stringify(rel)} in the work folder; refused.`);
  return rel;
}

/** This user's own folder of mirrors in the shared temporary folder; refused if someone else made it or may write in it. */
function privateTempDir(): string {
  const dir = path.join(os.tmpdir(), `transfer-studio-slurm-${os.userInfo().username}`);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = fs.lstatSync(dir);
  const uid = process.getuid?.();
  if (!stat.isDirectory() || (uid !== undefined && stat.uid !== uid) || (process.platform !== 'win32' && (stat.mode & 0o077) !== 0))
    throw new StudioError('internal', `${dir} is not a folder of yours that only you can write in: the Slurm work folder's mirror cannot go there. Remove it and try again.`);
  return dir;
}

/**
 * The work folder `remoteDir` (absolute, on the login node of `a`), mirrored in `localDir` (default:
 * a folder of this machine's temporary folder named after the two).
 */
export function sshWorkdir(a: SshAddress, remoteDir: string, localDir?: string): SlurmWorkdir {
  if (!remoteDir.startsWith('/')) throw new StudioError('bad_input', `The Slurm work folder on the login node must be an absolute path (${remoteDir} is not).`, 'workdir');
  const remote = path.posix.normalize(remoteDir).replace(/\/$/, '') || '/';
  const local = path.resolve(localDir ?? path.join(privateTempDir(), Buffer.from(`${sshTarget(a)}${remote}`).toString('base64url').slice(0, 120)));
  fs.mkdirSync(local, { recursive: true, mode: 0o700 });
  const relOf = (p: string): string => path.relative(local, p).split(path.sep).join('/');
  const script = (body: string, args: string[], env = ''): string[] => ['sh', '-c', `${env}${body}`, 'sh', remote, ...args];

  async function list(rels: string[], deep: boolean): Promise<Listed[]> {
    const out: Buffer[] = [];
    for (const chunk of chunks(rels)) {
      const r = await sshRun(a, script(LIST_SCRIPT, chunk, deep ? 'DEPTH=; ' : 'DEPTH="-maxdepth 0"; '));
      if (r.code !== 0) throw sshFailed(a, 'Reading the work folder', r);
      out.push(r.stdout);
    }
    return Buffer.concat(out)
      .toString('utf8')
      .split('\0')
      .filter(Boolean)
      .map((entry) => {
        const [type = '', size = '0', mtime = '0', ...name] = entry.split('\t');
        return { type, size: Number(size), mtime: Number(mtime), rel: safeRel(name.join('\t')) };
      });
  }

  /** One tar stream of these paths over one connection, unpacked beside the work folder and renamed into it. */
  async function pushNow(send: string[], signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) throw new StudioError('cancelled', 'Cancelled while sending the run bundles.');
    // One tar stream over one connection; the names go to tar through a file (no argument limit).
    const names = path.join(os.tmpdir(), `transfer-studio-push-${process.pid}-${randomBytes(4).toString('hex')}`);
    await fs.promises.writeFile(names, send.map((r) => `${r}\0`).join(''));
    try {
      const tar = spawn('tar', ['-C', local, '--null', '-T', names, '-cf', '-'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let tarErr = '';
      tar.stderr.on('data', (d: Buffer) => (tarErr += String(d)));
      const tarDone = new Promise<number>((resolve) => {
        tar.on('error', () => resolve(-1));
        tar.on('close', (code) => resolve(code ?? -1));
      });
      const abort = (): void => void tar.kill('SIGTERM');
      signal?.addEventListener('abort', abort, { once: true });
      const [r, tarCode] = await Promise.all([sshRun(a, script(UNPACK_SCRIPT, send), { stdin: tar.stdout, timeoutMs: 24 * 3600_000 }), tarDone]).finally(() =>
        signal?.removeEventListener('abort', abort),
      );
      if (signal?.aborted) throw new StudioError('cancelled', 'Cancelled while sending the run bundles.');
      if (tarCode !== 0) throw new StudioError('internal', `tar could not pack the run bundles: ${tarErr.trim() || `exit code ${tarCode}`}`);
      if (r.code !== 0) throw sshFailed(a, 'Sending the run bundles', r);
    } finally {
      await fs.promises.rm(names, { force: true });
    }
  }

  return {
    local,
    clusterPath: (p) => path.posix.join(remote, relOf(p)),

    async push(rels, options = {}) {
      if (rels.length === 0) return;
      let send = rels;
      if (options.onlyMissing) {
        send = [];
        for (const chunk of chunks(rels)) {
          const r = await sshRun(a, script(MISSING_SCRIPT, chunk));
          if (r.code !== 0) throw sshFailed(a, 'Looking into the work folder', r);
          send.push(...r.stdout.toString('utf8').split('\0').filter(Boolean));
        }
        if (send.length === 0) return;
      }
      for (const chunk of chunks(send)) await pushNow(chunk, options.signal);
    },

    async remove(rels) {
      for (const chunk of chunks(rels)) {
        const r = await sshRun(a, script(REMOVE_SCRIPT, chunk));
        if (r.code !== 0) throw sshFailed(a, 'Clearing the run bundles', r);
      }
    },

    async pull(rels, options: PullOptions) {
      if (rels.length === 0) return;
      const listed = await list(rels, options.deep === true);
      const there = new Set(listed.map((e) => e.rel));
      const target = (rel: string): string => path.join(local, ...rel.split('/'));
      for (const rel of rels) if (!there.has(rel)) await fs.promises.rm(target(rel), { recursive: true, force: true });
      if (options.deep) for (const e of listed) if (rels.includes(e.rel)) await fs.promises.rm(target(e.rel), { recursive: true, force: true });
      const reads: Listed[] = [];
      let total = 0;
      for (const e of listed) {
        const file = target(e.rel);
        await fs.promises.mkdir(path.dirname(file), { recursive: true });
        if (e.type === 'f') {
          const stat = await fs.promises.lstat(file).catch(() => null);
          if (stat?.isFile() && stat.size === e.size && Math.abs(stat.mtimeMs / 1000 - e.mtime) < 0.001) continue;
          await fs.promises.rm(file, { recursive: true, force: true });
          total += e.size;
          if (e.size > options.maxBytes || total > (options.maxTotal ?? Infinity)) {
            // Not read: a sparse file of its size, which the reader refuses by its size.
            await fs.promises.writeFile(file, '');
            await fs.promises.truncate(file, e.size);
            await fs.promises.utimes(file, e.mtime, e.mtime);
          } else reads.push(e);
        } else if (e.type === 'd') {
          const stat = await fs.promises.lstat(file).catch(() => null);
          if (!stat?.isDirectory()) {
            await fs.promises.rm(file, { recursive: true, force: true });
            await fs.promises.mkdir(file);
          }
        } else {
          // A link or anything else stays what it is, pointing nowhere here: the readers refuse it.
          await fs.promises.rm(file, { recursive: true, force: true });
          if (e.type === 'l') await fs.promises.symlink('link-on-the-login-node', file);
          else await fs.promises.mkdir(file);
        }
      }
      if (reads.length === 0) return;
      const byRel = new Map(reads.map((e) => [e.rel, e]));
      for (const chunk of chunks(reads.flatMap((e) => [String(e.size), e.rel]), 2)) await readInto(chunk.filter((_, i) => i % 2 === 1).flatMap((rel) => byRel.get(rel) ?? []), target);
    },
  };

  /** The files `reads` names, in one connection, each written whole here then renamed. */
  async function readInto(reads: Listed[], target: (rel: string) => string): Promise<void> {
    const r = await sshRun(a, script(READ_SCRIPT, reads.flatMap((e) => [String(e.size), e.rel])), { timeoutMs: 3600_000 });
    if (r.code !== 0) throw sshFailed(a, 'Reading the work folder', r);
    const expected = reads.reduce((n, e) => n + e.size, 0);
    if (r.stdout.length !== expected) throw new StudioError('internal', `Files of the work folder on ${sshTarget(a)} changed while they were read (${r.stdout.length} bytes instead of ${expected}); the next look reads them again.`);
    let offset = 0;
    for (const e of reads) {
      const file = target(e.rel);
      const tmp = `${file}.${process.pid}.download`;
      await fs.promises.writeFile(tmp, r.stdout.subarray(offset, offset + e.size));
      offset += e.size;
      await fs.promises.utimes(tmp, e.mtime, e.mtime);
      await fs.promises.rename(tmp, file);
    }
  }
}

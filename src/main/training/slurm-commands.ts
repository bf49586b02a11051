/**
 * The Slurm client commands a sweep uses, run without a shell (arguments as given) and parsed:
 * sbatch submits, squeue lists the tasks still queued or running, scontrol (else sacct) tells how
 * a task that left the queue ended, scancel stops. Works without accounting storage: scontrol
 * knows ended jobs for MinJobAge (5 minutes by default), sacct only where accounting is on.
 */
import { execFile } from 'node:child_process';
import { StudioError } from '../../shared/errors';

export interface CommandResult {
  /** The exit code; -1 when the command could not be run at all. */
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one Slurm client command: here (execFile, the default) or on the login node (ssh, slurm-ssh.ts). */
export type CommandRunner = (cmd: string, args: string[]) => Promise<CommandResult>;

export interface SlurmEnv {
  /** Added to this process's environment (SLURM_CONF, PATH) by the local runner. */
  env?: Record<string, string>;
  /** Where the commands run; default: this machine. */
  runner?: CommandRunner;
}

/** A task's Slurm state, as squeue/scontrol/sacct name it (RUNNING, COMPLETED, TIMEOUT...), with the reason and exit code when known. */
export interface TaskState {
  state: string;
  reason?: string;
  exitCode?: string;
}

/** States in which a task has not ended yet. */
const ACTIVE = new Set(['PENDING', 'CONFIGURING', 'RUNNING', 'COMPLETING', 'SUSPENDED', 'REQUEUED', 'REQUEUE_FED', 'REQUEUE_HOLD', 'RESIZING', 'SIGNALING', 'STAGE_OUT', 'STOPPED', 'RESV_DEL_HOLD']);
export const isActive = (state: string): boolean => ACTIVE.has(state);

function run(cmd: string, args: string[], opts: SlurmEnv): Promise<CommandResult> {
  return opts.runner ? opts.runner(cmd, args) : runHere(cmd, args, opts.env);
}

function runHere(cmd: string, args: string[], env: Record<string, string> | undefined): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, timeout: 60_000, maxBuffer: 16 * 2 ** 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) || (err && typeof err.code !== 'number' ? err.message : '') });
    });
  });
}

/** Submits a batch script; the job id. */
export async function sbatch(args: string[], script: string, opts: SlurmEnv): Promise<string> {
  const r = await run('sbatch', ['--parsable', ...args, script], opts);
  const id = /^(\d+)/.exec(r.stdout.trim())?.[1];
  if (r.code !== 0 || !id) {
    const why = r.stderr.trim() || r.stdout.trim() || `exit code ${r.code}`;
    throw new StudioError(r.code === -1 ? 'internal' : 'bad_input', r.code === -1 ? `sbatch could not be run (${why}): are the Slurm commands installed on this machine?` : `sbatch refused the sweep: ${why}`);
  }
  return id;
}

/** The array's tasks still known to the queue (pending, running, completing), by task index. */
export async function squeue(jobId: string, opts: SlurmEnv): Promise<Map<number, TaskState>> {
  const r = await run('squeue', ['-h', '-r', '-j', jobId, '-o', '%K|%T|%r'], opts);
  const tasks = new Map<number, TaskState>();
  // An unknown job id (ended and forgotten) is an error for squeue: nothing is queued.
  if (r.code !== 0) {
    if (/invalid job id/i.test(r.stderr)) return tasks;
    throw new StudioError('internal', `squeue failed: ${r.stderr.trim() || `exit code ${r.code}`}`);
  }
  for (const line of r.stdout.split('\n')) {
    const [index, state, reason] = line.trim().split('|');
    if (index && /^\d+$/.test(index) && state) tasks.set(Number(index), { state, ...(reason && reason !== 'None' ? { reason } : {}) });
  }
  return tasks;
}

/** `Key=Value` fields of one `scontrol -o show job` line. */
export function scontrolFields(line: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const m of line.matchAll(/(?:^|\s)([A-Za-z:/]+)=(\S*)/g)) fields[m[1]!] = m[2]!;
  return fields;
}

/** Whether an ArrayTaskId field ("3", "0-7", "1,4-6%2") covers `index`. */
export function coversTask(field: string, index: number): boolean {
  return field
    .split('%')[0]!
    .split(',')
    .some((part) => {
      const m = /^(\d+)(?:-(\d+))?(?::(\d+))?$/.exec(part);
      if (!m) return false;
      const [lo, hi, step] = [Number(m[1]), Number(m[2] ?? m[1]), Number(m[3] ?? 1)];
      return index >= lo && index <= hi && (index - lo) % step === 0;
    });
}

/**
 * How task `index` of the array stands: scontrol while it remembers the array (the record of the
 * task, or of the pending tasks that include it), else sacct; null when neither knows. A task that
 * scontrol no longer lists while it still knows the array was cancelled before it started: a
 * pending task leaves the array's record then, and never gets one of its own.
 */
export async function taskState(jobId: string, index: number, opts: SlurmEnv): Promise<TaskState | null> {
  const s = await run('scontrol', ['-o', 'show', 'job', jobId], opts);
  if (s.code === 0) {
    const records = s.stdout
      .split('\n')
      .map(scontrolFields)
      .filter((f) => f['ArrayJobId'] === jobId && f['JobState']);
    const f = records.find((r) => r['ArrayTaskId'] === String(index)) ?? records.find((r) => coversTask(r['ArrayTaskId'] ?? '', index));
    if (f) return { state: f['JobState']!, ...(f['Reason'] && f['Reason'] !== 'None' ? { reason: f['Reason'] } : {}), ...(f['ExitCode'] ? { exitCode: f['ExitCode'] } : {}) };
    if (records.length > 0) return { state: 'CANCELLED', reason: 'cancelled while it waited in the queue' };
  }
  const id = `${jobId}_${index}`;
  const a = await run('sacct', ['-n', '-P', '-X', '-j', id, '-o', 'State,ExitCode,Reason'], opts);
  const row = a.code === 0 ? a.stdout.split('\n').find((l) => l.trim()) : undefined;
  if (!row) return null;
  const [state, exitCode, reason] = row.split('|');
  // sacct writes "CANCELLED by 0": the state is the first word.
  const word = state?.trim().split(/\s+/)[0];
  return word ? { state: word, ...(exitCode ? { exitCode } : {}), ...(reason && reason !== 'None' ? { reason } : {}) } : null;
}

export async function scancel(jobId: string, opts: SlurmEnv): Promise<void> {
  const r = await run('scancel', [jobId], opts);
  if (r.code !== 0 && !/invalid job id|already completing or completed/i.test(r.stderr)) throw new StudioError('internal', `scancel ${jobId} failed: ${r.stderr.trim() || `exit code ${r.code}`}`);
}

const MEANING: Record<string, string> = {
  TIMEOUT: 'it reached its time limit (--time)',
  CANCELLED: 'it was cancelled on the cluster (scancel)',
  NODE_FAIL: 'its compute node failed',
  PREEMPTED: 'it was pre-empted by a job of higher priority',
  OUT_OF_MEMORY: 'it ran out of memory',
  BOOT_FAIL: 'its node failed to boot',
  DEADLINE: 'it reached its deadline',
  FAILED: 'it ended with an error',
  REVOKED: 'it was revoked (federation)',
  COMPLETED: 'it ended without a result',
};

/** A failed task's reason in Slurm's words, then what that means, then the run's own message. */
export function failureReason(state: TaskState | null, message?: string): string {
  const own = message ? ` (${message})` : '';
  if (!state) return `the task left Slurm's queue without a result, and Slurm keeps no record of it (no accounting storage)${own}`;
  const exit = state.exitCode && state.exitCode !== '0:0' ? `, exit code ${state.exitCode}` : '';
  const reason = state.reason && state.reason !== 'None' ? `, reason ${state.reason}` : '';
  return `${state.state}: ${MEANING[state.state] ?? 'it ended'}${exit}${reason}${own}`;
}

/**
 * Jobs from a terminal, shared by every CLI command module: wait for a job started by the Studio,
 * draw its progress on a TTY (stderr, so --json output stays one object on stdout), and cancel it
 * cleanly on Ctrl-C instead of killing the process mid-write. Its own module (not cli.ts) so that
 * command modules can import it without an import cycle through the command table.
 */
import type { JobInfo, JobKind, JobResults } from '../../shared/api';
import { printable } from '../../shared/names';
import { StudioError } from '../../shared/errors';
import type { Studio } from '../host/studio';

const BAR_WIDTH = 30;

/** One progress line (no newline), e.g. `[#####-----]  50% 5/10 Extracting features`. */
export function progressLine(progress: JobInfo['progress']): string {
  const { done, total, message } = progress;
  const frac = total > 0 ? Math.min(1, done / total) : 0;
  const bar = '#'.repeat(Math.round(frac * BAR_WIDTH)).padEnd(BAR_WIDTH, '-');
  return `[${bar}] ${(frac * 100).toFixed(0).padStart(3)}% ${done}/${total} ${message ?? ''}`;
}

/** Writes a line to stderr above the progress bar (TTY only): live log lines of a command. */
export function logAboveProgress(text: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r${' '.repeat(100)}\r${printable(text)}\n`);
}

/** Waits for a job to end, whatever its state; draws progress on a TTY; Ctrl-C cancels the job. */
export async function watchJob<K extends JobKind>(studio: Studio, job: JobInfo<K>): Promise<JobInfo<K>> {
  const tty = process.stderr.isTTY;
  const off = studio.on('job.progress', (j) => {
    if (tty && j.id === job.id) process.stderr.write(`\r${printable(progressLine(j.progress)).slice(0, 120).padEnd(100)}`);
  });
  const cancel = (): void => void studio.jobs.cancel(job.id);
  process.once('SIGINT', cancel);
  try {
    return await studio.jobs.wait(job);
  } finally {
    off();
    process.off('SIGINT', cancel);
    if (tty) process.stderr.write('\n');
  }
}

/** Waits for a job and returns its result, or throws its typed error (cancelled included). */
export async function waitForJob<K extends JobKind>(studio: Studio, job: JobInfo<K>): Promise<JobResults[K]> {
  const done = await watchJob(studio, job);
  if (done.state === 'succeeded' && done.result !== undefined) return done.result;
  if (done.state === 'cancelled') throw new StudioError('cancelled', done.error?.message ?? 'Cancelled.');
  throw StudioError.from(done.error ?? new Error(`The ${job.kind} job ended without a result.`));
}

/** Persistence of jobs in the project store. */
import type { JobInfo, JobKind } from '../../shared/api';
import type { JobState } from '../../shared/domain';
import type { ErrorCode } from '../../shared/errors';
import type { DB } from './open-database';

interface JobRow {
  id: string;
  kind: string;
  state: JobState;
  done: number;
  total: number;
  message: string | null;
  result: string | null;
  error_code: string | null;
  error_message: string | null;
  created_at: string;
  finished_at: string | null;
}

export function rowToJob(r: JobRow): JobInfo {
  const job: JobInfo = {
    id: r.id,
    // Rows are written by saveJob from typed jobs: the kind column only holds job kinds.
    kind: r.kind as JobKind,
    state: r.state,
    progress: r.message === null ? { done: r.done, total: r.total } : { done: r.done, total: r.total, message: r.message },
    createdAt: r.created_at,
  };
  if (r.result !== null) job.result = JSON.parse(r.result) as JobInfo['result'];
  if (r.error_code !== null) job.error = { code: r.error_code as ErrorCode, message: r.error_message ?? '' };
  if (r.finished_at !== null) job.finishedAt = r.finished_at;
  return job;
}

export function saveJob(db: DB, job: JobInfo): void {
  db.prepare(
    `INSERT INTO jobs (id, kind, state, done, total, message, result, error_code, error_message, created_at, finished_at)
     VALUES (@id, @kind, @state, @done, @total, @message, @result, @errorCode, @errorMessage, @createdAt, @finishedAt)
     ON CONFLICT(id) DO UPDATE SET state = excluded.state, done = excluded.done, total = excluded.total,
       message = excluded.message, result = excluded.result, error_code = excluded.error_code,
       error_message = excluded.error_message, finished_at = excluded.finished_at`,
  ).run({
    id: job.id,
    kind: job.kind,
    state: job.state,
    done: job.progress.done,
    total: job.progress.total,
    message: job.progress.message ?? null,
    result: job.result === undefined ? null : JSON.stringify(job.result),
    errorCode: job.error?.code ?? null,
    errorMessage: job.error?.message ?? null,
    createdAt: job.createdAt,
    finishedAt: job.finishedAt ?? null,
  });
}

export function listJobs(db: DB, limit = 50): JobInfo[] {
  return (db.prepare('SELECT * FROM jobs ORDER BY created_at DESC LIMIT ?').all(limit) as JobRow[]).map(rowToJob);
}

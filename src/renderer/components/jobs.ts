/**
 * Following one job from the events the host sends: which events belong to it, what its start
 * request's answer means when events overtook it, and how far along it is.
 */
import { isJobOf, type JobInfo, type JobKind } from '../../shared/api';

export const isFinished = (j: JobInfo | undefined): boolean => !!j && (j.state === 'succeeded' || j.state === 'failed' || j.state === 'cancelled');

/**
 * A job event applied to the job being followed: only its own events, and nothing after it
 * finished (a late progress event never turns a finished job back into a running one).
 */
export function followJob<K extends JobKind>(kind: K, current: JobInfo<K> | undefined, event: JobInfo): JobInfo<K> | undefined {
  if (!current || event.id !== current.id || !isJobOf(event, kind) || isFinished(current)) return current;
  return event;
}

/** The job a start request returned, or what its events already said (it can finish before the answer arrives). */
export function startedJob<K extends JobKind>(kind: K, started: JobInfo<K>, seen: ReadonlyMap<string, JobInfo>): JobInfo<K> {
  const later = seen.get(started.id);
  return later && isJobOf(later, kind) && (isFinished(later) || !isFinished(started)) ? later : started;
}

export function jobPercent(j: JobInfo): number {
  if (j.state === 'succeeded') return 100;
  return j.progress.total > 0 ? Math.min(100, (100 * j.progress.done) / j.progress.total) : 0;
}

/**
 * Follows one job the screen started: its progress and end come from job.progress and
 * job.finished, a start request's error is kept as the job's error, and Cancel goes through
 * cancelJob. A job may finish before its start request answers, so events seen meanwhile count.
 */
import { useCallback, useRef, useState } from 'react';
import type { JobInfo, JobKind } from '../../shared/api';
import { StudioError } from '../../shared/errors';
import { api } from '../api/client';
import { useEvent } from '../api/hooks';
import { followJob, startedJob } from './jobs';

/** A job of kind K being followed: its result, once it succeeded, has K's result type. */
export interface JobHandle<K extends JobKind = JobKind> {
  job: JobInfo<K> | undefined;
  /** The start request's error (bad input), or the error of cancelling. */
  error: StudioError | undefined;
  starting: boolean;
  start(request: () => Promise<JobInfo<K>>): Promise<void>;
  /** Follows a job started elsewhere (e.g. found running when the screen opens). */
  adopt(job: JobInfo<K>): void;
  cancel(): void;
  clear(): void;
}

const SEEN_LIMIT = 50;

export function useJob<K extends JobKind>(kind: K): JobHandle<K> {
  const [job, setJob] = useState<JobInfo<K>>();
  const [error, setError] = useState<StudioError>();
  const [starting, setStarting] = useState(false);
  const seen = useRef(new Map<string, JobInfo>());

  const onEvent = (j: JobInfo): void => {
    const m = seen.current;
    m.delete(j.id);
    m.set(j.id, j);
    if (m.size > SEEN_LIMIT) m.delete(m.keys().next().value!);
    setJob((cur) => followJob(kind, cur, j));
  };
  useEvent('job.progress', onEvent);
  useEvent('job.finished', onEvent);

  const start = useCallback(async (request: () => Promise<JobInfo<K>>): Promise<void> => {
    setStarting(true);
    setError(undefined);
    setJob(undefined);
    try {
      const j = await request();
      setJob(startedJob(kind, j, seen.current));
    } catch (err) {
      setError(StudioError.from(err));
    } finally {
      setStarting(false);
    }
  }, [kind]);

  const adopt = useCallback((j: JobInfo<K>) => setJob(startedJob(kind, j, seen.current)), [kind]);

  const cancel = useCallback(() => {
    if (!job) return;
    api.call('cancelJob', { id: job.id }).catch((err: unknown) => {
      const e = StudioError.from(err);
      // Already over: its job.finished event says how it ended.
      if (e.code !== 'not_found') setError(e);
    });
  }, [job]);

  const clear = useCallback(() => {
    setJob(undefined);
    setError(undefined);
  }, []);

  return { job, error, starting, start, adopt, cancel, clear };
}

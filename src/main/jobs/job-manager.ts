/**
 * Long work as jobs: each has an id, a kind, progress events (throttled to about 10 per second),
 * a typed result or error, and can be cancelled through its AbortSignal. Jobs are persisted in
 * the project store so their outcome survives a restart; a job whose work throws is marked
 * failed, never left running.
 */
import { randomUUID } from 'node:crypto';
import type { JobInfo, JobKind, JobResults } from '../../shared/api';
import type { JobProgress } from '../../shared/domain';
import { StudioError } from '../../shared/errors';

export interface JobContext {
  readonly signal: AbortSignal;
  readonly jobId: string;
  /**
   * Report progress; cheap to call per item, events are throttled. `newPhase`: this call starts a
   * stage of the job (its message names it), sent at once so no stage is coalesced away unseen.
   */
  progress(done: number, total: number, message?: string, newPhase?: boolean): void;
  /** Throws a `cancelled` StudioError when the job was cancelled; call at safe points. */
  throwIfCancelled(): void;
}

export type JobWork<T> = (ctx: JobContext) => Promise<T>;

export interface JobSink {
  /** Persist the job's state (called on start, on throttled progress and at the end); may throw (a full disk). */
  save(job: JobInfo): void;
  progress(job: JobInfo): void;
  finished(job: JobInfo): void;
  /** The error a failure becomes (a full disk: which one); default StudioError.from. */
  describe?(err: unknown): StudioError;
}

/** Progress events of a job (and a run's live progress) at most this often: about 10 per second. */
export const PROGRESS_INTERVAL_MS = 100;

interface Running {
  job: JobInfo;
  controller: AbortController;
  done: Promise<JobInfo>;
}

/** How many finished jobs stay answerable by `wait` (a caller may ask just after a fast job ended). */
const KEEP_FINISHED = 100;

export class JobManager {
  private readonly running = new Map<string, Running>();
  private readonly finished = new Map<string, JobInfo>();

  constructor(private readonly sink: JobSink) {}

  /** Starts `work` as a job and returns its info at once; `done` resolves when it ends. */
  start<K extends JobKind>(kind: K, work: JobWork<JobResults[K]>, id: string = JobManager.newId()): { job: JobInfo<K>; done: Promise<JobInfo<K>> } {
    const controller = new AbortController();
    const job: JobInfo<K> = { id, kind, state: 'running', progress: { done: 0, total: 0 }, createdAt: new Date().toISOString() };
    try {
      this.sink.save(job);
    } catch (err) {
      throw this.describe(err);
    }
    let lastEmit = 0;
    let pending: ReturnType<typeof setTimeout> | undefined;
    // A progress save that failed (a full disk) from the timer: the job fails with it at its next progress or cancel check.
    let saveFailure: StudioError | undefined;
    const emit = (): void => {
      if (pending) clearTimeout(pending); // a late timer must not emit a second time
      pending = undefined;
      lastEmit = Date.now();
      if (job.state !== 'running' || saveFailure) return;
      try {
        this.sink.save(job);
      } catch (err) {
        // Thrown from a timer this would end the process: keep it for the work to fail with.
        saveFailure = this.describe(err);
        return;
      }
      this.sink.progress({ ...job, progress: { ...job.progress } });
    };
    const ctx: JobContext = {
      signal: controller.signal,
      jobId: job.id,
      progress(done, total, message, newPhase) {
        if (saveFailure) throw saveFailure;
        const p: JobProgress = message === undefined ? { done, total } : { done, total, message };
        job.progress = p;
        const wait = PROGRESS_INTERVAL_MS - (Date.now() - lastEmit);
        if (wait <= 0 || newPhase) emit();
        else pending ??= setTimeout(emit, wait);
      },
      throwIfCancelled() {
        if (saveFailure) throw saveFailure;
        if (controller.signal.aborted) throw new StudioError('cancelled', 'Cancelled by the user.');
      },
    };
    const done = (async (): Promise<JobInfo<K>> => {
      try {
        const result = await work(ctx);
        // Its progress could not be saved (a full disk): the job's outcome could not be either.
        if (saveFailure) throw saveFailure;
        job.state = controller.signal.aborted ? 'cancelled' : 'succeeded';
        if (result !== undefined) job.result = result;
      } catch (err) {
        const e = this.describe(err);
        job.state = controller.signal.aborted || e.code === 'cancelled' ? 'cancelled' : 'failed';
        job.error = { code: e.code, message: e.message };
      } finally {
        if (pending) clearTimeout(pending);
      }
      job.finishedAt = new Date().toISOString();
      this.running.delete(job.id);
      this.finished.set(job.id, { ...job });
      if (this.finished.size > KEEP_FINISHED) this.finished.delete(this.finished.keys().next().value!);
      try {
        this.sink.save(job);
      } catch {
        // The store may have been closed under a finishing job; the event still reports the outcome.
      }
      this.sink.finished({ ...job });
      return job;
    })();
    this.running.set(job.id, { job, controller, done });
    return { job: { ...job }, done };
  }

  private describe(err: unknown): StudioError {
    return this.sink.describe?.(err) ?? StudioError.from(err);
  }

  /** Ids can be made before a job starts, so rows that reference it (a run) exist first. */
  static newId(): string {
    return randomUUID();
  }

  cancel(id: string): JobInfo | undefined {
    const r = this.running.get(id);
    if (!r) return undefined;
    r.controller.abort();
    return { ...r.job };
  }

  /** Resolves with the job's final state, whether it is still running or has just finished; given the job, typed by its kind. */
  wait(id: string): Promise<JobInfo>;
  wait<K extends JobKind>(job: JobInfo<K>): Promise<JobInfo<K>>;
  async wait(of: string | JobInfo): Promise<JobInfo> {
    const id = typeof of === 'string' ? of : of.id;
    const r = this.running.get(id);
    const job = r ? await r.done : this.finished.get(id);
    if (!job) throw new StudioError('not_found', `No job has id ${id}.`);
    if (typeof of !== 'string' && job.kind !== of.kind) throw new StudioError('internal', `Job ${id} is a ${job.kind} job, not ${of.kind}.`);
    return { ...job };
  }

  list(): JobInfo[] {
    return [...this.running.values()].map((r) => ({ ...r.job }));
  }

  /** Cancels every running job and waits for them to end (used when closing a project). */
  async cancelAll(): Promise<void> {
    const all = [...this.running.values()];
    for (const r of all) r.controller.abort();
    await Promise.allSettled(all.map((r) => r.done));
  }
}

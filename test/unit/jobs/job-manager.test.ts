import { describe, expect, it } from 'vitest';
import type { JobInfo } from '../../../src/shared/api';
import { JobManager } from '../../../src/main/jobs/job-manager';

function recorder() {
  const saved: JobInfo[] = [];
  const progress: JobInfo[] = [];
  const finished: JobInfo[] = [];
  const jm = new JobManager({ save: (j) => saved.push(structuredClone(j)), progress: (j) => progress.push(j), finished: (j) => finished.push(j) });
  return { jm, saved, progress, finished };
}

describe('JobManager', () => {
  it('throttles progress events to about 10 per second', async () => {
    const { jm, progress } = recorder();
    const { done } = jm.start('check', async (ctx) => {
      const end = Date.now() + 550;
      let i = 0;
      while (Date.now() < end) {
        ctx.progress(++i, 1_000_000);
        await new Promise((r) => setImmediate(r));
      }
      return { integrity: 'ok', images: i, missingFiles: 0 };
    });
    const job = await done;
    expect(job.state).toBe('succeeded');
    expect(job.result?.images).toBeGreaterThan(100); // thousands of calls...
    expect(progress.length).toBeGreaterThanOrEqual(3); // ...became a handful of events
    expect(progress.length).toBeLessThanOrEqual(8);
  });

  it('sends the first report of a new phase at once, inside the throttle window', async () => {
    const { jm, progress } = recorder();
    const { done } = jm.start('check', async (ctx) => {
      ctx.progress(0, 3, 'phase A', true);
      ctx.progress(1, 3, 'phase B', true); // within the same 100 ms: still sent
      ctx.progress(2, 3, 'phase B: more'); // an ordinary report: throttled (then dropped at the end)
      return { integrity: 'ok', images: 3, missingFiles: 0 };
    });
    await done;
    expect(progress.map((j) => j.progress.message)).toEqual(['phase A', 'phase B']);
  });

  it('cancels at the next safe point and reports cancelled', async () => {
    const { jm, finished } = recorder();
    const { job, done } = jm.start('check', async (ctx) => {
      for (;;) {
        ctx.throwIfCancelled();
        await new Promise((r) => setTimeout(r, 5));
      }
    });
    setTimeout(() => jm.cancel(job.id), 30);
    const end = await done;
    expect(end.state).toBe('cancelled');
    expect(finished).toHaveLength(1);
    expect(jm.list()).toHaveLength(0);
  });

  it('marks a throwing job failed with a typed error', async () => {
    const { jm, saved } = recorder();
    const end = await jm.start('check', async () => {
      throw new Error('disk full');
    }).done;
    expect(end.state).toBe('failed');
    expect(end.error).toEqual({ code: 'internal', message: 'disk full' });
    expect(saved.at(-1)!.state).toBe('failed');
  });
});

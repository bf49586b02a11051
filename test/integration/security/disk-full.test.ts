/**
 * A full disk (issue 25, finding 8), on a real small file system: a tmpfs mounted for the test (as
 * root, as CI runs; skipped where it cannot be mounted). A job whose progress save fails from its
 * timer fails with a message naming the disk instead of ending the process; an import into a
 * project on a full disk ends with that message and a consistent database.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobManager } from '../../../src/main/jobs/job-manager';
import { saveJob } from '../../../src/main/store/jobs';
import { ProjectStore } from '../../../src/main/store/project-store';
import { StudioError } from '../../../src/shared/errors';
import { diskFullError } from '../../../src/shared/node/disk-full';
import { writeImage } from '../../fixtures/images';
import { cli, removeTempDirs, tempDir } from '../helpers';

/** Mounts a tmpfs of `size` on a new folder; null where this process may not mount. */
function mountTmpfs(size: string): string | null {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return null;
  const dir = tempDir('ts-full-mnt-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
    return dir;
  } catch {
    return null;
  }
}

/** Fills the file system of `dir` to the last byte with one file; returns it (delete it to free the space). */
function fill(dir: string): string {
  const file = path.join(dir, 'filler');
  const fd = fs.openSync(file, 'a');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (let size = chunk.length; size >= 1; size = Math.floor(size / 2)) {
      for (;;) {
        try {
          fs.writeSync(fd, chunk, 0, size);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw err;
        }
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return file;
}

const mounts: string[] = [];
const mount = (size: string): string | null => {
  const dir = mountTmpfs(size);
  if (dir) mounts.push(dir);
  return dir;
};
const canMount = (() => {
  const probe = mountTmpfs('1m');
  if (probe) execFileSync('umount', [probe]);
  return probe !== null;
})();

afterAll(() => {
  for (const dir of mounts) execFileSync('umount', ['-l', dir]);
  removeTempDirs();
});

describe.runIf(canMount)('a full disk', () => {
  const home = tempDir('ts-full-home-');
  let images: string;

  beforeAll(async () => {
    images = tempDir('ts-full-data-');
    for (let i = 0; i < 120; i++) await writeImage(path.join(images, i % 2 ? 'cat' : 'dog', `${i}.png`), { w: 96, h: 96, seed: i });
  });

  it('fails a job whose progress save fails from its timer, naming the disk; the process lives on', async () => {
    const disk = mount('2m')!;
    const store = ProjectStore.create(path.join(disk, 'project'));
    try {
      const jobs = new JobManager({
        save: (job) => saveJob(store.db, job),
        progress: () => undefined,
        finished: () => undefined,
        describe: (err) => diskFullError(err, store.dir) ?? StudioError.from(err),
      });
      const { done } = jobs.start('check', async (ctx) => {
        ctx.progress(0, 1000, 'started');
        fill(disk);
        // Progress every few ms: the throttled saves run from the job manager's timer, on a full disk.
        for (let i = 1; i <= 1000; i++) {
          await new Promise((r) => setTimeout(r, 3));
          ctx.progress(i, 1000, `step ${i}`);
        }
        return { integrity: 'ok', images: 0, missingFiles: 0 };
      });
      const job = await done;
      expect(job.state).toBe('failed');
      expect(job.error).toMatchObject({ code: 'disk_full', message: expect.stringMatching(new RegExp(`^The disk holding ${store.dir} is full \\(0\\.0 MB free\\)`)) });
    } finally {
      store.close();
    }
  });

  it('import into a project on a full disk exits with the message and JSON; the database stays consistent', async () => {
    const disk = mount('3m')!;
    const project = path.join(disk, 'project');
    expect((await cli(home, ['project', 'create', project])).code).toBe(0);
    const filler = fill(disk);
    // Room for a few thumbnails and rows, not for 120.
    fs.truncateSync(filler, fs.statSync(filler).size - 160 * 1024);
    const r = await cli(home, ['import', project, images, '--json']);
    expect(r.code, r.err).toBe(1);
    expect(r.json).toMatchObject({ ok: false, error: { code: 'disk_full', message: expect.stringMatching(new RegExp(`^The disk holding ${project} is full \\(`)) } });
    expect(r.err).not.toMatch(/Uncaught|SqliteError|^ {4}at /m);

    fs.rmSync(filler);
    const check = await cli(home, ['project', 'check', project, '--json']);
    expect(check.code, check.err).toBe(0);
    expect(check.json).toMatchObject({ check: { integrity: 'ok', missingFiles: 0 } });
    const db = new Database(path.join(project, 'project.sqlite'), { readonly: true });
    try {
      // What was committed is whole: every image row has its source, no job is left running.
      expect(db.prepare('SELECT COUNT(*) FROM images i LEFT JOIN sources s ON s.id = i.source_id WHERE s.id IS NULL').pluck().get()).toBe(0);
      expect(db.prepare("SELECT COUNT(*) FROM jobs WHERE state = 'running'").pluck().get()).toBe(0);
    } finally {
      db.close();
    }
    // With room again, the same import finishes what was left.
    const again = await cli(home, ['import', project, images, '--json']);
    expect(again.code, again.err).toBe(0);
    const db2 = new Database(path.join(project, 'project.sqlite'), { readonly: true });
    try {
      expect(db2.prepare('SELECT COUNT(*) FROM images').pluck().get()).toBe(120);
    } finally {
      db2.close();
    }
  }, 60_000);
});

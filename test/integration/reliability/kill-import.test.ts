/**
 * kill -9 of the host in the middle of a large import (issue 13): the CLI's `import` process is
 * SIGKILLed once some batches are committed and others are not. Then the database passes its
 * integrity check, the import job reads as failed, and importing the folder again adds exactly
 * the rest: every file once, no duplicate rows.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { query, removeTempDirs, runCli, startCli, tempDir, waitFor } from './helpers';

/** Enough files that the import is still running well after its first committed batch (200 rows). */
const FILES = 1500;

/** An 8x8 RGB PNG written directly (thousands of them in well under a second). */
function png(seed: number): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
    return Buffer.concat([head, data, crc]);
  };
  const ihdr = Buffer.from([0, 0, 0, 8, 0, 0, 0, 8, 8, 2, 0, 0, 0]);
  const rows = Buffer.alloc(8 * (1 + 8 * 3));
  for (let y = 0; y < 8; y++) for (let x = 0; x < 24; x++) rows[y * 25 + 1 + x] = (seed * 2654435761 + y * 31 + x * 7) >>> (x % 24);
  rows.writeUInt32BE(seed, 1);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}

afterAll(removeTempDirs);

describe('host killed during an import', () => {
  it('keeps a consistent store, marks the job failed, and the next import adds the rest without duplicates', async () => {
    const home = tempDir();
    const src = path.join(home, 'photos');
    fs.mkdirSync(src);
    // Small distinct images (every one its own content, so its own hash).
    for (let i = 0; i < FILES; i++) fs.writeFileSync(path.join(src, `img${i}.png`), png(i));
    const project = path.join(home, 'p');
    expect((await runCli(home, ['project', 'create', project])).code).toBe(0);

    const first = startCli(home, ['import', project, src, '--json']);
    // Mid-import: committed batches on disk, the job still running.
    const atKill = await waitFor(() => {
      if (!fs.existsSync(path.join(project, 'project.sqlite'))) return undefined;
      const [row] = query<{ n: number }>(project, 'SELECT count(*) AS n FROM images');
      return row!.n > 0 ? row!.n : undefined;
    }, 120_000, 'the first committed batch');
    first.proc.kill('SIGKILL');
    const ended = await first.done;
    expect(ended.signal).toBe('SIGKILL');
    const committed = query<{ n: number }>(project, 'SELECT count(*) AS n FROM images')[0]!.n;
    expect(committed, 'the import had finished before the kill: raise FILES').toBeLessThan(FILES);
    expect(committed).toBeGreaterThanOrEqual(atKill);
    console.log(`import killed with ${committed} of ${FILES} images committed`);

    // Reopened: the database is whole, every stored image's file is there, the job says it failed.
    const check = await runCli(home, ['project', 'check', project]);
    expect(check.code, check.err).toBe(0);
    expect(check.json.check).toEqual({ integrity: 'ok', images: committed, missingFiles: 0 });
    const jobs = query<{ kind: string; state: string; error_message: string | null }>(project, "SELECT kind, state, error_message FROM jobs WHERE kind = 'import'");
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.state).toBe('failed');
    expect(jobs[0]!.error_message).toMatch(/Interrupted/);

    // The same folder again: the rest is added, what was there is recognised.
    const second = await runCli(home, ['import', project, src]);
    expect(second.code, second.err).toBe(0);
    expect(second.json.report).toMatchObject({ added: FILES - committed, duplicateCount: committed });
    const [counts] = query<{ n: number; hashes: number; paths: number; sources: number }>(
      project,
      'SELECT count(*) AS n, count(DISTINCT hash) AS hashes, count(DISTINCT rel_path) AS paths, (SELECT count(*) FROM sources) AS sources FROM images',
    );
    expect(counts).toEqual({ n: FILES, hashes: FILES, paths: FILES, sources: 1 });
    expect((await runCli(home, ['project', 'check', project])).json.check).toEqual({ integrity: 'ok', images: FILES, missingFiles: 0 });
  }, 600_000);
});

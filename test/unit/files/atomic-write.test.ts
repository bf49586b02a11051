/**
 * Write to a temporary name, then rename (src/shared/node/atomic-write.ts), on real files: what is
 * at the target is the old content or the new, never a part, and a failed write leaves nothing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildFolderAtomic, writeFileAtomic, writeFileAtomicSync } from '../../../src/shared/node/atomic-write';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ts-atomic-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = (): string => fs.mkdtempSync(path.join(root, `${n++}-`));

describe('writeFileAtomic', () => {
  it('replaces a file with the new content and leaves no temporary beside it', async () => {
    const dir = freshDir();
    const file = path.join(dir, 'a.json');
    fs.writeFileSync(file, 'old');
    await writeFileAtomic(file, 'new', { durable: true });
    writeFileAtomicSync(path.join(dir, 'b.json'), new Uint8Array([1, 2]));
    expect(fs.readFileSync(file, 'utf8')).toBe('new');
    expect(fs.readdirSync(dir).sort()).toEqual(['a.json', 'b.json']);
  });

  it('a writer that fails halfway leaves the old file and removes its temporary', async () => {
    const dir = freshDir();
    const file = path.join(dir, 'a.csv');
    fs.writeFileSync(file, 'old');
    const failing = async (tmp: string): Promise<void> => {
      fs.writeFileSync(tmp, 'half');
      throw new Error('disk full');
    };
    await expect(writeFileAtomic(file, failing)).rejects.toThrow('disk full');
    expect(fs.readFileSync(file, 'utf8')).toBe('old');
    expect(fs.readdirSync(dir)).toEqual(['a.csv']);
  });

  it('a file into a missing folder fails without leaving anything', async () => {
    const dir = freshDir();
    await expect(writeFileAtomic(path.join(dir, 'gone', 'a.txt'), 'x')).rejects.toThrow(/ENOENT/);
    expect(() => writeFileAtomicSync(path.join(dir, 'gone', 'a.txt'), 'x')).toThrow(/ENOENT/);
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

describe('buildFolderAtomic', () => {
  it("fills a new folder; 'any' replaces a full one, the default only an empty one", async () => {
    const dir = freshDir();
    const target = path.join(dir, 'model');
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, 'old.bin'), 'old');
    await expect(buildFolderAtomic(target, async (tmp) => fs.writeFileSync(path.join(tmp, 'new.bin'), 'new'))).rejects.toThrow(/ENOTEMPTY|EEXIST/);
    expect(fs.readdirSync(target)).toEqual(['old.bin']);
    const got = await buildFolderAtomic(target, async (tmp) => (fs.writeFileSync(path.join(tmp, 'new.bin'), 'new'), 7), { replace: 'any' });
    expect(got).toBe(7);
    expect(fs.readdirSync(target)).toEqual(['new.bin']);
    expect(fs.readdirSync(dir)).toEqual(['model']);
  });

  it('a fill that fails keeps the folder that was there and removes the partial one', async () => {
    const dir = freshDir();
    const target = path.join(dir, 'export');
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, 'kept.txt'), 'kept');
    const fill = async (tmp: string): Promise<void> => {
      fs.writeFileSync(path.join(tmp, 'half.bin'), 'half');
      throw new Error('cancelled');
    };
    await expect(buildFolderAtomic(target, fill, { replace: 'any' })).rejects.toThrow('cancelled');
    expect(fs.readdirSync(target)).toEqual(['kept.txt']);
    expect(fs.readdirSync(dir)).toEqual(['export']);
  });
});

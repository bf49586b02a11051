import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeImage } from '../../fixtures/images';
import { cli, removeTempDirs, tempDir, type CliResult } from '../helpers';

const home = tempDir('ts-cli-home-');
const run = (...args: string[]): Promise<CliResult> => cli(home, args);
afterAll(removeTempDirs);

describe('transfer-studio import / split', () => {
  it('imports a folder and a CSV, reports as JSON and text, splits, and exits 2 on bad input', async () => {
    const tmp = tempDir();
    const dir = path.join(tmp, 'proj');
    const src = path.join(tmp, 'src');
    for (let i = 0; i < 8; i++) await writeImage(path.join(src, i % 2 ? 'x' : 'y', `${i}.png`), { seed: 800 + i, w: 16, h: 16 });
    const csvImages = path.join(tmp, 'csvimgs');
    for (let i = 0; i < 3; i++) await writeImage(path.join(csvImages, `t${i}.png`), { seed: 850 + i, w: 16, h: 16 });
    fs.writeFileSync(path.join(tmp, 'test.csv'), 'filename\nt0.png\nt1.png\nt2.png\nmissing.png\n');

    expect((await run('project', 'create', dir)).code).toBe(0);
    const r = await run('import', dir, src, '--json');
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ ok: true, report: { added: 8, classesCreated: ['x', 'y'], failureCount: 0, cancelled: false } });

    const t = await run('import', dir, '--csv', path.join(tmp, 'test.csv'), '--images', csvImages, '--split', 'test');
    expect(t.code).toBe(0);
    expect(t.out).toMatch(/Added 3 images/);
    expect(t.out).toMatch(/row 5: missing.png: missing file/);

    const s = await run('split', dir, '--val', '0.5', '--seed', '1', '--json');
    expect(s.json).toMatchObject({ ok: true, split: { train: 4, val: 4 } });
    const info = await run('project', 'info', dir, '--json');
    expect(info.json).toMatchObject({ project: { counts: { total: 11, bySplit: { train: 4, val: 4, test: 3 } } } });

    expect((await run('import', dir, path.join(tmp, 'nope'))).code).toBe(2);
    expect((await run('import', dir, src, '--split', 'holdout')).code).toBe(2);
    expect((await run('split', dir, '--val', '2')).code).toBe(2);
  });
});

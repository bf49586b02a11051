import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeImage } from '../../fixtures/images';
import { removeTempDirs, tempDir } from '../media/helpers';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const home = tempDir('ts-cli-home-');
afterAll(removeTempDirs);

function cli(...args: string[]): { code: number; out: string; err: string; json: Record<string, unknown> | undefined } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/main/cli/index.ts'), ...args], {
    env: { ...process.env, TRANSFER_STUDIO_HOME: home },
    encoding: 'utf8',
  });
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '') as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr, json };
}

describe('transfer-studio import / split', () => {
  it('imports a folder and a CSV, reports as JSON and text, splits, and exits 2 on bad input', async () => {
    const tmp = tempDir();
    const dir = path.join(tmp, 'proj');
    const src = path.join(tmp, 'src');
    for (let i = 0; i < 8; i++) await writeImage(path.join(src, i % 2 ? 'x' : 'y', `${i}.png`), { seed: 800 + i, w: 16, h: 16 });
    const csvImages = path.join(tmp, 'csvimgs');
    for (let i = 0; i < 3; i++) await writeImage(path.join(csvImages, `t${i}.png`), { seed: 850 + i, w: 16, h: 16 });
    fs.writeFileSync(path.join(tmp, 'test.csv'), 'filename\nt0.png\nt1.png\nt2.png\nmissing.png\n');

    expect(cli('project', 'create', dir).code).toBe(0);
    const r = cli('import', dir, src, '--json');
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ ok: true, report: { added: 8, classesCreated: ['x', 'y'], failureCount: 0, cancelled: false } });

    const t = cli('import', dir, '--csv', path.join(tmp, 'test.csv'), '--images', csvImages, '--split', 'test');
    expect(t.code).toBe(0);
    expect(t.out).toMatch(/Added 3 images/);
    expect(t.out).toMatch(/row 5: missing.png: missing file/);

    const s = cli('split', dir, '--val', '0.5', '--seed', '1', '--json');
    expect(s.json).toMatchObject({ ok: true, split: { train: 4, val: 4 } });
    const info = cli('project', 'info', dir, '--json');
    expect(info.json).toMatchObject({ project: { counts: { total: 11, bySplit: { train: 4, val: 4, test: 3 } } } });

    expect(cli('import', dir, path.join(tmp, 'nope')).code).toBe(2);
    expect(cli('import', dir, src, '--split', 'holdout').code).toBe(2);
    expect(cli('split', dir, '--val', '2').code).toBe(2);
  });
});

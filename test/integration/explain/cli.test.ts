/**
 * `transfer-studio explain` as a user runs it: a child process, the real engine and MobileNet v1
 * 0.25, a scenario-1 run on corner-patch images. Overlays and peaks.csv whose peaks fall on the
 * patches; one image and another class; exit codes 0 / 2 / 1; Ctrl-C cancels and leaves no folder.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PATCH_COLOURS, writePatchImages, type PatchImage } from '../../fixtures/corner-patches';
import { MODEL_025 } from '../../fixtures/assets';
import { cliRunner, interruptedCli, jobRunning, readCsvFile, removeTempDirs, tempDir } from '../helpers';

let home: string;
let root: string;
let dir: string;
let tests: PatchImage[];
const { run, ok } = cliRunner(() => home);

beforeAll(async () => {
  home = tempDir('ts-explain-cli-home-');
  root = tempDir('ts-explain-cli-');
  await writePatchImages(path.join(root, 'train'), 32, { folders: true });
  tests = await writePatchImages(path.join(root, 'test'), 8, { seed: 99 });
  dir = path.join(root, 'project');
  await ok('project', 'create', dir);
  await ok('import', dir, path.join(root, 'train'));
  await ok('import', dir, path.join(root, 'test'), '--split', 'test');
  await ok('split', dir, '--val', '0.25');
  await ok('models', 'import', MODEL_025);
  await ok('train', dir, '--scenario', '1', '--epochs', '25', '--lr', '0.003', '--seed', '5');
}, 180_000);

afterAll(removeTempDirs);

describe('transfer-studio explain', () => {
  it('Ctrl-C cancels the job: exit 1, no output folder, the job recorded as cancelled', async () => {
    const out = path.join(root, 'cancelled');
    const r = await interruptedCli(home, ['explain', dir, '--run', '1', '--split', 'val', '--out', out, '--json'], () => jobRunning(dir, 'explain'));
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ ok: false, error: { code: 'cancelled' } });
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.readdirSync(root).filter((n) => n.startsWith('cancelled'))).toEqual([]);
    const after = new Database(path.join(dir, 'project.sqlite'), { readonly: true });
    expect(after.prepare("SELECT state FROM jobs WHERE kind = 'explain' ORDER BY created_at DESC LIMIT 1").pluck().get()).toBe('cancelled');
    after.close();
  });

  it('writes an overlay per test image and peaks.csv whose peaks fall on the patches', async () => {
    const out = path.join(root, 'explained');
    const r = await ok('explain', dir, '--run', '1', '--split', 'test', '--out', out, '--json');
    expect(r.json).toMatchObject({ ok: true, explain: { runId: 1, out, written: tests.length, failed: [], layer: 'conv_pw_13_relu', className: null, peaksCsv: path.join(out, 'peaks.csv') } });
    const pngs = fs.readdirSync(out).filter((n) => n.endsWith('.png'));
    expect(pngs).toHaveLength(tests.length);
    const rows = await readCsvFile(path.join(out, 'peaks.csv'));
    expect(rows[0]).toEqual(['path', 'class', 'peak_x', 'peak_y']);
    expect(rows).toHaveLength(tests.length + 1);
    let onPatch = 0;
    for (const t of tests) {
      const row = rows.find((x) => x[0] === t.path)!;
      expect(['red', 'green', 'blue']).toContain(row[1]);
      const [x, y] = [Number(row[2]), Number(row[3])];
      const [left, top, right, bottom] = t.patch;
      if (x >= left && x <= right && y >= top && y <= bottom) onPatch++;
    }
    expect(onPatch / tests.length).toBeGreaterThanOrEqual(0.9);
    // An overlay is the image (64 px, enlarged to 224) half and half with the heat scale, whose top
    // (dark red) is at the peak, over the patch: what the overlay adds there is that colour.
    const first = pngs.sort()[0]!;
    const { data, info } = await sharp(path.join(out, first)).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([224, 224]);
    const image = tests.find((t) => t.path.endsWith(first.replace(/^\d+-/, '')))!;
    const peak = rows.find((x) => x[0] === image.path)!;
    const o = (Math.floor(Number(peak[3]) * 224) * 224 + Math.floor(Number(peak[2]) * 224)) * info.channels;
    const heat = [0, 1, 2].map((c) => 2 * data[o + c]! - PATCH_COLOURS[image.label]![c]!);
    expect(heat[0]).toBeGreaterThan(100);
    expect(Math.max(heat[1]!, heat[2]!)).toBeLessThan(30);
  });

  it('explains one image file for another class', async () => {
    const out = path.join(root, 'one');
    const image = tests.find((t) => t.label === 0)!;
    const r = await ok('explain', dir, '--run', '1', '--image', image.path, '--class', 'green', '--out', out);
    expect(r.out).toMatch(/Explained 1 image\(s\) with run 1 \(class green, feature map of conv_pw_13_relu\)/);
    const rows = await readCsvFile(path.join(out, 'peaks.csv'));
    expect(rows.slice(1).map((x) => x.slice(0, 2))).toEqual([[image.path, 'green']]);
  });

  it('exits 2 with the reason on bad input', async () => {
    fs.mkdirSync(path.join(root, 'full'));
    fs.writeFileSync(path.join(root, 'full', 'x.txt'), 'x');
    const out = path.join(root, 'never');
    const bad = path.join(root, 'bad.png');
    fs.writeFileSync(bad, 'not an image');
    const cases: [string[], RegExp][] = [
      [['explain', dir, '--split', 'test', '--out', out], /missing --run/],
      [['explain', dir, '--run', '1', '--out', out], /either --image PATH or --split/],
      [['explain', dir, '--run', '1', '--split', 'train', '--out', out], /--split must be val or test/],
      [['explain', dir, '--run', '1', '--split', 'test'], /missing --out/],
      [['explain', dir, '--run', '1', '--split', 'test', '--out', out, '--class', 'purple'], /no class "purple" \(its classes: .*green/],
      [['explain', dir, '--run', '1', '--split', 'test', '--out', path.join(root, 'full')], /not empty/],
      [['explain', dir, '--run', '1', '--image', path.join(root, 'missing.png'), '--out', out], /Cannot read/],
      [['explain', dir, '--run', '9', '--split', 'test', '--out', out], /run 9/i],
      [['explain', dir, '--run', '1', '--image', bad, '--out', out], /No image could be read or decoded \(.*bad\.png\); nothing was written/],
    ];
    for (const [args, message] of cases) {
      const r = await run(...args, '--json');
      expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(2);
      expect((r.json?.error as { message: string }).message).toMatch(message);
    }
    expect(fs.existsSync(out)).toBe(false);
  });
});

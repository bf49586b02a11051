/** One list of image extensions: what import accepts and this sharp build decodes. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { EXTENSION_GUESSES, IMAGE_EXTENSIONS, hasImageExtension, type ImageFormat } from '../../../src/main/media/formats';
import { csvLayout, resolveCsvPath } from '../../../src/main/media/import-plan';

/** The sharp formats behind every ImageFormat sniff reports (AVIF is read by sharp's heif loader). */
const SNIFFED: Record<ImageFormat, keyof sharp.FormatEnum> = { jpeg: 'jpeg', png: 'png', webp: 'webp', gif: 'gif', tiff: 'tiff', heif: 'heif', avif: 'heif' };

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ts-ext-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('image extensions', () => {
  it('are exactly the file suffixes sharp decodes for the formats import accepts', () => {
    const decoded = new Set(Object.values(SNIFFED).flatMap((f) => (sharp.format[f].input.file ? (sharp.format[f].input.fileSuffix ?? []) : [])));
    expect(new Set(IMAGE_EXTENSIONS)).toEqual(decoded);
  });

  it('recognise a name in any case, and nothing sharp cannot read here', () => {
    for (const name of ['a.jpg', 'B.JPEG', 'c.Png', 'photo.jfif', 'x.avif', 'scan.TIF', 'anim.gif', 'w.webp']) expect(hasImageExtension(name), name).toBe(true);
    for (const name of ['a.bmp', 'b.heic', 'c.svg', 'notes.txt', 'jpg', 'labels.csv']) expect(hasImageExtension(name), name).toBe(false);
  });

  it('complete a CSV id given without one, lower case first', () => {
    for (const f of ['a.jfif', 'b.AVIF', 'c.png', 'c.PNG']) fs.writeFileSync(path.join(dir, f), '');
    expect(resolveCsvPath(dir, 'a')).toEqual({ file: path.join(dir, 'a.jfif'), rel: 'a.jfif' });
    expect(resolveCsvPath(dir, 'b')).toEqual({ file: path.join(dir, 'b.AVIF'), rel: 'b.AVIF' });
    expect(resolveCsvPath(dir, 'c')).toEqual({ file: path.join(dir, 'c.png'), rel: 'c.png' });
    expect(EXTENSION_GUESSES).toHaveLength(2 * IMAGE_EXTENSIONS.length);
  });

  it('tell a CSV whose first row names an image file from one with a header', () => {
    expect(csvLayout(['image', 'label']).header).toBe(true);
    expect(csvLayout(['photo.jfif', 'label']).header).toBe(false);
  });
});

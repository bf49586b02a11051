import { describe, expect, it } from 'vitest';
import { csvField, csvLine, formatNumber } from '../../../src/main/export/csv-write';
import { UniqueNames, safeName, stripExtension } from '../../../src/main/export/names';

describe('CSV output', () => {
  it('quotes only what needs quoting', () => {
    expect(csvLine(['plain', 'a,b', 'say "hi"', 'two\nlines', ' padded', 'ñandú 🐦'])).toBe('plain,"a,b","say ""hi""","two\nlines"," padded",ñandú 🐦\n');
    expect(csvField('')).toBe('');
  });

  it('prints probabilities with float32 precision and no noise', () => {
    expect(formatNumber(0)).toBe('0');
    expect(formatNumber(1)).toBe('1');
    expect(formatNumber(Math.fround(0.7))).toBe('0.7');
    expect(formatNumber(Math.fround(0.1 / 3))).toBe('0.03333334'); // the float32 is 0.033333335...
    expect(formatNumber(NaN)).toBe('');
  });
});

describe('file names', () => {
  it('makes any class name a folder name every OS accepts, keeping letters of every script', () => {
    expect(safeName('cats')).toBe('cats');
    expect(safeName('ñandú 🐦')).toBe('ñandú 🐦');
    expect(safeName('a/b\\c:d*e?f"g<h>i|j')).toBe('a_b_c_d_e_f_g_h_i_j');
    expect(safeName('trailing. ')).toBe('trailing');
    expect(safeName('..')).toBe('_');
    expect(safeName('CON')).toBe('CON_');
    expect(safeName('nul.txt')).toBe('nul.txt_');
    expect(safeName('e\u0301')).toBe('é'); // NFC
    expect(Buffer.byteLength(safeName('字'.repeat(300)))).toBeLessThanOrEqual(200);
  });

  it('hands out unique names per folder, case-insensitively', () => {
    const names = new UniqueNames();
    expect(['a.png', 'A.png', 'a.png', 'b', 'b'].map((n) => names.take(n))).toEqual(['a.png', 'A (2).png', 'a (3).png', 'b', 'b (2)']);
  });

  it('strips the last extension of the file name only', () => {
    expect(stripExtension('img_1.png')).toBe('img_1');
    expect(stripExtension('dir.v2/img.tar.gz')).toBe('dir.v2/img.tar');
    expect(stripExtension('dir.v2/noext')).toBe('dir.v2/noext');
    expect(stripExtension('.hidden')).toBe('.hidden');
  });
});

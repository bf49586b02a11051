/** Cells for spreadsheets (OWASP CSV injection) and text for terminals. */
import { describe, expect, it } from 'vitest';
import { spreadsheetLine } from '../../../src/main/export/csv-write';
import { formulaLike, formulaWarning, printable } from '../../../src/shared/names';

describe('spreadsheet cells', () => {
  it('quote and prefix a cell starting with = + - @, tab or carriage return; leave the rest and numbers alone', () => {
    expect(spreadsheetLine(['=1+1', '+A1', '-2', '@SUM(A1)', '\tx', '\rx', 'cat', 'a,b', -0.5, 0.25])).toBe(
      `"'=1+1","'+A1","'-2","'@SUM(A1)","'\tx","'\rx",cat,"a,b",-0.5,0.25\n`,
    );
    expect(spreadsheetLine(['=HYPERLINK("http://x","y")'])).toBe(`"'=HYPERLINK(""http://x"",""y"")"\n`);
    expect(['cat', ' =x', 'a=b', ''].some(formulaLike)).toBe(false);
  });

  it('warn about formula-like class names only', () => {
    expect(formulaWarning(['cat', 'dog'])).toBeNull();
    expect(formulaWarning(['cat', '=cmd'])).toMatch(/^class name "=cmd" starts like a spreadsheet formula/);
  });
});

describe('terminal text', () => {
  it('loses control characters and bidi overrides, keeps line feeds, tabs and other text', () => {
    expect(printable('a\u001b]0;title\u0007b\u001b[2Jc\u009bd\u202ee\nf\tg é 猫')).toBe('a]0;titleb[2Jcde\nf\tg é 猫');
  });
});

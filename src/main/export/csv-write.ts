/** CSV output (RFC 4180): UTF-8 without BOM, LF line ends, fields quoted only when they need it. */
import { formulaLike } from '../../shared/names';

/** Quotes a field that holds a comma, a quote, a line break, or leading/trailing spaces. */
export function csvField(value: string | number): string {
  const s = typeof value === 'number' ? formatNumber(value) : value;
  if (/[",\r\n]/.test(s) || s !== s.trim()) return `"${s.replace(/"/g, '""')}"`;
  return s;
}

export function csvLine(fields: readonly (string | number)[]): string {
  return fields.map(csvField).join(',') + '\n';
}

/**
 * A text cell for a CSV meant for spreadsheets, neutralised as OWASP's CSV-injection guidance says:
 * a cell a spreadsheet would read as a formula (starting with = + - @, a tab or a carriage return)
 * gets a leading ' and quotes, so it is shown as text and never evaluated. Numbers are left as
 * numbers. Not for files a program reads back exactly (a submission: see formulaLike).
 */
export function spreadsheetField(value: string | number): string {
  if (typeof value === 'string' && formulaLike(value)) return `"'${value.replace(/"/g, '""')}"`;
  return csvField(value);
}

export function spreadsheetLine(fields: readonly (string | number)[]): string {
  return fields.map(spreadsheetField).join(',') + '\n';
}

/** Probabilities: float32 values printed with the precision they have (7 significant digits), no exponent noise for 0 and 1. */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return '';
  if (n === 0 || n === 1) return String(n);
  return String(Number(n.toPrecision(7)));
}

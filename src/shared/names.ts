/**
 * Names that users and datasets give (class names, file names) as other programs read them: a
 * spreadsheet evaluates a cell that starts like a formula (OWASP, CSV injection), a terminal obeys
 * the escape sequences in the text it prints.
 */

/** A cell a spreadsheet reads as a formula: it starts with = + - @, a tab or a carriage return. */
export function formulaLike(text: string): boolean {
  return /^[=+\-@\t\r]/.test(text);
}

/** The warning for class names that spreadsheets would evaluate, or null when there are none. */
export function formulaWarning(names: readonly string[]): string | null {
  const risky = names.filter(formulaLike);
  if (risky.length === 0) return null;
  const list = risky.slice(0, 5).map((n) => JSON.stringify(printable(n))).join(', ');
  return `class name${risky.length === 1 ? '' : 's'} ${list}${risky.length > 5 ? ', ...' : ''} start${risky.length === 1 ? 's' : ''} like a spreadsheet formula (= + - @): a spreadsheet opening a CSV with ${risky.length === 1 ? 'it' : 'them'} may run ${risky.length === 1 ? 'it' : 'them'}; the submission keeps ${risky.length === 1 ? 'it' : 'them'} exact, the other CSVs prefix a '.`;
}

/**
 * Text safe to print on a terminal: control characters (C0 but line feed and tab, DEL, C1, so no
 * ESC / OSC / CSI sequence) and the bidirectional overrides that reorder what is shown are removed.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, '');
}

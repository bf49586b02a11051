/** Numbers as every screen writes them. */

/** A share as a percentage ('—' when there is none). */
export const pct = (v: number | null, digits = 1): string => (v === null ? '—' : `${(100 * v).toFixed(digits)}%`);

/** A count of parameters or images, short: 1.23 M, 45.6 k, 789. */
export function formatCount(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return String(n);
}

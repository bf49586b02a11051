/**
 * The digit keys of every screen that labels images (gallery, evaluation grids, audit lists, the
 * map): 1–9 name the class at that position in the project's class order; 0, Backspace and
 * Delete remove the label.
 */
import type { ClassInfo } from '../../shared/domain';

/** The class a digit key 1–9 names; `missing` says there is no such class; null: `key` is not 1–9. */
export function classOfDigitKey(key: string, classes: readonly ClassInfo[]): { cls: ClassInfo } | { missing: string } | null {
  if (!/^[1-9]$/.test(key)) return null;
  const cls = classes[Number(key) - 1];
  return cls ? { cls } : { missing: `There is no class ${key}` };
}

/** Whether `key` removes the label. */
export function isUnlabelKey(key: string): boolean {
  return key === '0' || key === 'Backspace' || key === 'Delete';
}

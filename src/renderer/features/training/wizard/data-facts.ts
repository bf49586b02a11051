/**
 * What the Data step shows of the project's counts: totals, the majority baseline, and the
 * warnings worth a look (the blocking ones stop the wizard before training is asked for).
 */
import type { ProjectCounts } from '../../../../shared/domain';

export interface DataFacts {
  labelled: number;
  train: number;
  val: number;
  unlabelled: number;
  classes: { id: number; name: string; color: string; train: number; val: number; total: number }[];
  /** Share of the largest class among the labelled train+val images (always guessing it). */
  baseline: number | null;
  warnings: string[];
  /** Training cannot start (fewer than two trainable classes, no validation images). */
  blocking: boolean;
}

export function dataFacts(c: ProjectCounts): DataFacts {
  const classes = c.byClass.map((k) => ({ id: k.id, name: k.name, color: k.color, train: k.train, val: k.val, total: k.train + k.val }));
  const train = classes.reduce((a, k) => a + k.train, 0);
  const val = classes.reduce((a, k) => a + k.val, 0);
  const labelled = train + val;
  const baseline = labelled > 0 ? Math.max(...classes.map((k) => k.total)) / labelled : null;
  const warnings: string[] = [];
  let blocking = false;
  const trainable = classes.filter((k) => k.train > 0);
  if (trainable.length < 2) {
    warnings.push(`Training needs at least two classes with labelled training images; there ${trainable.length === 1 ? 'is 1' : `are ${trainable.length}`}.`);
    blocking = true;
  }
  if (val === 0) {
    warnings.push('The validation split is empty: use Auto split in the gallery (or move some labelled images to validation).');
    blocking = true;
  }
  for (const k of classes) if (k.total > 0 && k.total < 10) warnings.push(`Class "${k.name}" has only ${k.total} image${k.total === 1 ? '' : 's'}: aim for at least 10, better 50+.`);
  for (const k of classes) if (k.total === 0) warnings.push(`Class "${k.name}" has no labelled images and will be left out.`);
  for (const k of classes) if (k.train > 0 && k.val === 0 && val > 0) warnings.push(`Class "${k.name}" has no validation images: its accuracy cannot be measured.`);
  if (c.unlabelled > 0) warnings.push(`${c.unlabelled} image${c.unlabelled === 1 ? ' is' : 's are'} unlabelled: they are not trained on, but the run will suggest labels for them.`);
  if (baseline !== null && baseline > 0.6 && classes.length > 1) warnings.push(`The classes are unbalanced (the largest has ${Math.round(100 * baseline)}%): consider class weights.`);
  return { labelled, train, val, unlabelled: c.unlabelled, classes, baseline, warnings, blocking };
}

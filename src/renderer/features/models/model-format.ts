/** How the model library shows sizes, parameter counts, preprocessing and download checks (pure, unit-tested). */
import type { CatalogModelInfo } from '../../../shared/api';
import type { JobInfo } from '../../../shared/api';
import type { PreprocessingMode } from '../../../shared/domain';

export function formatBytes(bytes: number | null | undefined, exact = true): string {
  if (bytes == null) return '?';
  const text = bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${(bytes / 1e3).toFixed(0)} kB`;
  return exact ? text : `~${text}`;
}

export function formatParams(params: number | null | undefined): string {
  if (params == null) return '?';
  return params >= 1e6 ? `${(params / 1e6).toFixed(1)}M` : params.toLocaleString('en-US');
}

const PREPROCESSING_TEXT: Record<PreprocessingMode, string> = {
  tf: 'RGB to [-1, 1]',
  caffe: 'BGR, ImageNet mean subtracted',
  raw: 'RGB 0-255 (normalised inside)',
};

export function describePreprocessing(mode: PreprocessingMode | undefined): string {
  return PREPROCESSING_TEXT[mode ?? 'tf'];
}

/** What a catalog download is checked against. */
export function describeCheck(c: Pick<CatalogModelInfo, 'hash' | 'sizeExact' | 'family'>): string {
  if (c.hash) return `${c.hash.algorithm} ${c.hash.value.slice(0, 8)}… pinned in ${c.hash.pinnedIn}`;
  if (c.family === 'mobilenet_v1') return 'no hash known: every shard checked against its manifest';
  return c.sizeExact ? 'no hash pinned: checked structurally and by size' : 'no hash pinned: checked structurally';
}

/** Percent done of a job (0 while its total is unknown). */
export function percent(job: JobInfo | undefined): number {
  if (!job || job.progress.total <= 0) return 0;
  return Math.min(100, (100 * job.progress.done) / job.progress.total);
}

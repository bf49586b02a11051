/**
 * Teachable Machine exports (teachablemachine.withgoogle.com): a TensorFlow.js LayersModel whose
 * metadata.json names the tool and the classes its head was trained on. Recognised so the studio
 * can say so, cut at the base's out_relu by default, read the head as the export's own classes
 * (not ImageNet) and start a project's classes from its labels. Pure Node.
 */
import path from 'node:path';
import type { TeachableInfo } from '../domain';
import { readUserFileSync } from './user-file';

export const TEACHABLE_METADATA = 'metadata.json';
/** The MobileNet base's last convolution: the features Teachable Machine itself trains its head on. */
export const TEACHABLE_FEATURES_LAYER = 'out_relu';

/** The export's metadata, or null when the folder is not a Teachable Machine export. */
export function readTeachable(dir: string): TeachableInfo | null {
  let json: unknown;
  try {
    // A regular file of the folder itself (a link out of it, or a FIFO, reads as no metadata).
    json = JSON.parse(readUserFileSync(path.join(dir, TEACHABLE_METADATA), { root: dir, maxBytes: 1024 ** 2 }).toString('utf8'));
  } catch {
    return null;
  }
  if (typeof json !== 'object' || json === null) return null;
  const m = json as Record<string, unknown>;
  const isTeachable = typeof m['tmVersion'] === 'string' || (typeof m['packageName'] === 'string' && m['packageName'].startsWith('@teachablemachine/'));
  const labels = m['labels'];
  if (!isTeachable || !Array.isArray(labels) || !labels.every((l) => typeof l === 'string')) return null;
  return {
    version: typeof m['tmVersion'] === 'string' ? m['tmVersion'] : 'unknown',
    // Class names as the studio takes them (1-100 characters), once each.
    labels: [...new Set(labels.map((l) => l.trim()).filter((l) => l.length > 0 && l.length <= 100))],
    ...(typeof m['modelName'] === 'string' ? { modelName: m['modelName'] } : {}),
  };
}

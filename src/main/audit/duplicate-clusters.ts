/**
 * What the user does with a near-duplicate cluster found by the audit: keep one image and remove
 * its copies (undoable, store/removals.ts), or move the whole cluster to one split (a leak fixed).
 * Test images are what a submission is scored on: they are never removed.
 */
import type { Split } from '../../shared/domain';
import { StudioError } from '../../shared/errors';
import { clusterMembers, duplicateCluster } from '../store/audits';
import { setSplit } from '../store/images';
import type { DB } from '../store/open-database';
import { removeImages } from '../store/removals';

/** Removes every member of the cluster but `keepImageId`, except test images. */
export function keepOne(db: DB, clusterId: number, keepImageId: number): { removed: number; removalId: number } {
  duplicateCluster(db, clusterId); // a typed not_found for an unknown cluster
  const members = clusterMembers(db, clusterId);
  const keep = members.find((m) => m.id === keepImageId);
  if (!keep) throw new StudioError('bad_input', `Image ${keepImageId} is not in near-duplicate cluster ${clusterId}.`, 'keepImageId');
  if (keep.split !== 'test' && members.some((m) => m.split === 'test'))
    throw new StudioError('bad_input', `Cluster ${clusterId} has a test image, which cannot be removed: keep the test image (its copies in train or val are removed).`, 'keepImageId');
  const others = members.filter((m) => m.id !== keep.id && m.split !== 'test').map((m) => m.id);
  if (others.length === 0) throw new StudioError('bad_input', `Cluster ${clusterId} has nothing to remove: its other images are test images.`, 'clusterId');
  return removeImages(db, others, `keep image ${keep.id} of near-duplicate cluster ${clusterId}`);
}

/** Moves every member of the cluster to `split`. */
export function moveClusterToSplit(db: DB, clusterId: number, split: Split): ReturnType<typeof setSplit> {
  duplicateCluster(db, clusterId);
  return setSplit(db, clusterMembers(db, clusterId).map((m) => m.id), split);
}

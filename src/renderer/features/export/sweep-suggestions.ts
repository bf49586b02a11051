/**
 * The ensembles the latest finished sweep suggests to the Export screen (src/shared/sweep-ensembles.ts):
 * its best 3 runs by validation accuracy, or each k-fold configuration's fold models.
 */
import type { SweepEnsemble } from '../../../shared/sweep-ensembles';
import { sweepEnsembles } from '../../../shared/sweep-ensembles';
import { useQuery } from '../../api/hooks';

export function useSweepSuggestions(): SweepEnsemble[] {
  const sweeps = useQuery('listSweeps', {}, ['runs']);
  const latest = sweeps.data?.find((s) => s.state !== 'running');
  const board = useQuery('sweepLeaderboard', { id: latest?.id ?? 1 }, ['runs'], latest !== undefined);
  return latest && board.data?.sweep.id === latest.id ? sweepEnsembles(board.data) : [];
}

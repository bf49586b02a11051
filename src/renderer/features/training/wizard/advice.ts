/**
 * The host's advice for the wizard's current answers. The wizard never decides a scenario or a
 * freeze boundary itself: while the advisor is asked (or when it fails) there is no advice, only
 * the user's own choices.
 */
import type { AdviceInfo } from '../../../../shared/domain';
import type { StudioError } from '../../../../shared/errors';
import type { Query } from '../../../api/hooks';

export interface AdviceState {
  /** The advice for the current answers and model; undefined while asked or after an error. */
  advice: AdviceInfo | undefined;
  error: StudioError | undefined;
  retry: () => void;
}

export function adviceState(q: Query<AdviceInfo>): AdviceState {
  // An answer to earlier answers (or another model) would recommend for the wrong question.
  if (q.stale) return { advice: undefined, error: undefined, retry: q.reload };
  return { advice: q.error ? undefined : q.data, error: q.error, retry: q.reload };
}

/**
 * Test-time augmentation: the fixed set of views an image is predicted on when TTA is asked for
 * (`predict --tta`); the run's probabilities on them are averaged. The engine makes each view with
 * the training augmentation's own transforms (engine/augment.ts); the names travel with every
 * prediction stored, so a submission says how it was made.
 */
export const TTA_VIEWS = ['identity', 'flip', 'shift-left', 'shift-right', 'zoom'] as const;
export type TtaView = (typeof TTA_VIEWS)[number];

/** The plain image alone: what a prediction without TTA sees. */
export const PLAIN_VIEWS: readonly TtaView[] = ['identity'];

/** What each view is, for the CLI's and the Export screen's words. */
export const TTA_VIEW_TEXT: Record<TtaView, string> = {
  identity: 'the image',
  flip: 'mirrored left-right',
  'shift-left': 'shifted left by 4% of its side',
  'shift-right': 'shifted right by 4% of its side',
  zoom: 'zoomed in 1.05x about its centre',
};

/** The views a prediction used, in words: "plain" or "TTA (identity, flip, ...)". */
export function viewsText(views: readonly string[] | null): string {
  if (views === null) return 'mixed (some images with TTA, some without)';
  return views.length <= 1 ? 'plain (no TTA)' : `TTA over ${views.length} views (${views.join(', ')})`;
}

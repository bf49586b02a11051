/**
 * Dragging images from the gallery onto a class. The ids stay in memory (a selection can be
 * 100,000 ids); the drag data only carries a marker type so drop targets can recognise it.
 */
export const IMAGES_DRAG_TYPE = 'application/x-transfer-studio-images';

let dragged: readonly number[] = [];

export function startImageDrag(e: { dataTransfer: DataTransfer | null }, ids: readonly number[]): void {
  dragged = ids;
  if (!e.dataTransfer) return;
  e.dataTransfer.effectAllowed = 'copyMove';
  e.dataTransfer.setData(IMAGES_DRAG_TYPE, String(ids.length));
  e.dataTransfer.setData('text/plain', `${ids.length} image${ids.length === 1 ? '' : 's'}`);
}

export function isImageDrag(e: { dataTransfer: DataTransfer | null }): boolean {
  return !!e.dataTransfer && [...e.dataTransfer.types].includes(IMAGES_DRAG_TYPE);
}

/** The ids being dragged (cleared by endImageDrag). */
export function draggedImages(): readonly number[] {
  return dragged;
}

export function endImageDrag(): void {
  dragged = [];
}

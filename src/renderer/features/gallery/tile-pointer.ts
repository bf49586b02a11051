/**
 * The grid's mouse: click selects one tile, Shift-click a range (Ctrl adds it), Ctrl-click toggles;
 * dragging a selected tile drags the whole selection (onto a class, to label it), dragging another
 * tile selects and drags that one.
 */
import type { DragEvent, Dispatch, MouseEvent, SetStateAction } from 'react';
import { startImageDrag } from '../../components/image-drag';
import type { PageCache } from './page-cache';
import { type Selection, rangeBounds, selectOne, selectRange, toggleOne } from './selection';

export interface TilePointer {
  onTileClick(index: number, e: MouseEvent): void;
  onTileDragStart(index: number, e: DragEvent): void;
}

/** Plain functions of the render's selection (like the grid's key handler). */
export function tilePointerHandlers(sel: Selection, setSel: Dispatch<SetStateAction<Selection>>, cache: PageCache): TilePointer {
  return {
    onTileClick(index, e) {
      const row = cache.get(index);
      if (!row) return;
      const mod = e.ctrlKey || e.metaKey;
      if (e.shiftKey) {
        const [a, b] = rangeBounds(sel, index);
        void cache.idsBetween(a, b).then((ids) => setSel((s) => selectRange(s, index, ids, mod)));
      } else if (mod) setSel((s) => toggleOne(s, index, row.id));
      else setSel((s) => selectOne(s, index, row.id));
    },
    onTileDragStart(index, e) {
      const row = cache.get(index);
      if (!row) return;
      if (sel.ids.has(row.id)) startImageDrag(e, [...sel.ids]);
      else {
        setSel((s) => selectOne(s, index, row.id));
        startImageDrag(e, [row.id]);
      }
    },
  };
}

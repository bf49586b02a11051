/**
 * The latest embedding map, every page of it, as typed arrays; fetched again when the store says
 * the audit, images or classes changed (labels and splits on the map are current).
 */
import { useEffect, useState } from 'react';
import { MAX_MAP_POINTS } from '../../../../shared/api';
import type { EmbeddingMapPage } from '../../../../shared/domain';
import { StudioError } from '../../../../shared/errors';
import { api } from '../../../api/client';
import type { MapPoints } from './colouring';
import { decodeMapPage, joinPoints } from './map-data';

export type MapMeta = Omit<EmbeddingMapPage, 'ids' | 'xy' | 'labels' | 'predicted' | 'splits' | 'scores' | 'offset' | 'count'>;

export interface LoadedMap {
  meta: MapMeta;
  points: MapPoints;
}

async function loadMap(): Promise<LoadedMap | null> {
  const parts: MapPoints[] = [];
  let first: EmbeddingMapPage | null = null;
  for (let offset = 0; ; ) {
    const page = await api.call('embeddingMap', { offset, limit: MAX_MAP_POINTS });
    if (!page) return null;
    // A new map stored while paging: start again from its first page.
    if (first && page.mapId !== first.mapId) return loadMap();
    first ??= page;
    parts.push(decodeMapPage(page));
    offset += page.count;
    if (page.count === 0 || offset >= page.total) break;
  }
  const { ids: _i, xy: _xy, labels: _l, predicted: _p, splits: _s, scores: _sc, offset: _o, count: _c, ...meta } = first!;
  return { meta, points: joinPoints(parts) };
}

export function useMapPoints(): { map: LoadedMap | null | undefined; error: StudioError | undefined; reload: () => void } {
  const [map, setMap] = useState<LoadedMap | null>();
  const [error, setError] = useState<StudioError>();
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    loadMap().then(
      (m) => {
        if (!live) return;
        setMap(m);
        setError(undefined);
      },
      (err: unknown) => {
        if (live) setError(StudioError.from(err));
      },
    );
    return () => {
      live = false;
    };
  }, [tick]);
  // A burst of changes (labelling image after image) fetches the map once, after it.
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const off = api.on('store.changed', (e) => {
      if (!e.topics.some((t) => t === 'audit' || t === 'images' || t === 'classes')) return;
      clearTimeout(timer);
      timer = setTimeout(() => setTick((t) => t + 1), 150);
    });
    return () => {
      off();
      clearTimeout(timer);
    };
  }, []);
  return { map, error, reload: () => setTick((t) => t + 1) };
}

/** React face of PageCache: one cache per filter + sort, refetched when images or classes change. */
import { useEffect, useMemo, useSyncExternalStore } from 'react';
import type { ImageFilter, ImageSort } from '../../../shared/domain';
import { api } from '../../api/client';
import { PageCache } from './page-cache';

/**
 * The cache for a filter + sort, and its total. Only the total re-renders the caller; the grid
 * subscribes to page arrivals itself (useCacheVersion), so the toolbar never re-renders on scroll.
 */
export function useImagePages(filter: ImageFilter, sort: ImageSort): { cache: PageCache; total: number | null; error: unknown } {
  const key = JSON.stringify({ filter, sort });
  const cache = useMemo(() => {
    const { filter: f, sort: s } = JSON.parse(key) as { filter: ImageFilter; sort: ImageSort };
    return new PageCache((offset, limit) => api.call('listImages', { filter: f, sort: s, offset, limit }));
  }, [key]);
  useEffect(() => {
    const off = api.on('store.changed', (e) => {
      if (e.topics.includes('images') || e.topics.includes('classes') || e.topics.includes('project')) cache.invalidate();
    });
    return () => {
      off();
      cache.dispose();
    };
  }, [cache]);
  const total = useSyncExternalStore(cache.subscribe, () => cache.total);
  const error = useSyncExternalStore(cache.subscribe, () => cache.error);
  return { cache, total, error };
}

/** Re-renders on every page that arrives. */
export function useCacheVersion(cache: PageCache): number {
  return useSyncExternalStore(cache.subscribe, cache.getVersion);
}

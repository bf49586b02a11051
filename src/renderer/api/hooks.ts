/** React hooks over the StudioApi: data that refreshes itself when the store says it changed. */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { EventName, RequestInput, RequestName, RequestOutput, StoreTopic, StudioEvents } from '../../shared/api';
import { StudioError } from '../../shared/errors';
import { api } from './client';

export interface Query<T> {
  data: T | undefined;
  error: StudioError | undefined;
  loading: boolean;
  /** data and error answer an earlier input (the call for the current one is on its way). */
  stale: boolean;
  reload: () => void;
}

/**
 * Calls `name` with `input` now, again when `input` changes, and whenever a store.changed event
 * names one of `topics`. Pass `enabled: false` to wait (e.g. until a project is open).
 */
export function useQuery<K extends RequestName>(name: K, input: RequestInput<K>, topics: StoreTopic[], enabled = true): Query<RequestOutput<K>> {
  const [data, setData] = useState<RequestOutput<K>>();
  const [error, setError] = useState<StudioError>();
  const [loading, setLoading] = useState(enabled);
  const [answered, setAnswered] = useState<string>();
  const [tick, setTick] = useState(0);
  const key = JSON.stringify(input);
  const topicKey = topics.join(',');
  const seq = useRef(0);

  useEffect(() => {
    if (!enabled) return;
    const mine = ++seq.current;
    setLoading(true);
    api.call(name, JSON.parse(key) as RequestInput<K>).then(
      (out) => {
        if (mine !== seq.current) return; // a newer call superseded this one
        setData(out);
        setError(undefined);
        setAnswered(key);
        setLoading(false);
      },
      (err: unknown) => {
        if (mine !== seq.current) return;
        setError(StudioError.from(err));
        setAnswered(key);
        setLoading(false);
      },
    );
  }, [name, key, tick, enabled]);

  useEffect(() => {
    if (!enabled) return;
    const wanted = new Set(topicKey.split(','));
    return api.on('store.changed', (e) => {
      if (e.topics.some((t) => wanted.has(t))) setTick((t) => t + 1);
    });
  }, [topicKey, enabled]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, stale: answered !== undefined && answered !== key, reload };
}

export function useEvent<E extends EventName>(event: E, listener: (payload: StudioEvents[E]) => void): void {
  const ref = useRef(listener);
  ref.current = listener;
  useEffect(() => api.on(event, (p) => ref.current(p)), [event]);
}

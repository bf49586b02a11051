/**
 * Live state of training runs for the whole renderer session: the latest progress of each run,
 * its per-batch loss, epoch metrics and latest confusion matrix. Subscribed once, on first use,
 * so leaving the Train screen loses nothing; a run opened later is seeded from getRun.
 */
import { useEffect, useSyncExternalStore } from 'react';
import type { ConfusionMatrix, EpochMetrics, RunDetail, RunProgress } from '../../../shared/domain';
import { api } from '../../api/client';

export interface LivePoint {
  x: number;
  y: number;
}

export interface LiveRun {
  runId: number;
  progress: RunProgress | null;
  /** Smoothed loss per progress event, x in fractional epochs (0 = start). */
  batchLoss: LivePoint[];
  metrics: EpochMetrics[];
  confusion: ConfusionMatrix | null;
  logs: string[];
  /** The run ended (a job.finished arrived for it, or the store says so). */
  ended: boolean;
}

const MAX_BATCH_POINTS = 4000;
const state = new Map<number, LiveRun>();
const jobToRun = new Map<string, number>();
const listeners = new Set<() => void>();
let version = 0;
let subscribed = false;

function emit(): void {
  version++;
  listeners.forEach((l) => l());
}

function blank(runId: number): LiveRun {
  return { runId, progress: null, batchLoss: [], metrics: [], confusion: null, logs: [], ended: false };
}

function update(runId: number, fn: (r: LiveRun) => LiveRun): void {
  state.set(runId, fn(state.get(runId) ?? blank(runId)));
  emit();
}

function mergeMetrics(a: readonly EpochMetrics[], b: readonly EpochMetrics[]): EpochMetrics[] {
  const m = new Map<number, EpochMetrics>();
  for (const e of a) m.set(e.epoch, e);
  for (const e of b) m.set(e.epoch, e);
  return [...m.values()].sort((x, y) => x.epoch - y.epoch);
}

function subscribe(): void {
  if (subscribed) return;
  subscribed = true;
  api.on('run.progress', (p) => {
    jobToRun.set(p.jobId, p.runId);
    update(p.runId, (r) => {
      let batchLoss = r.batchLoss;
      if (p.phase === 'train' && p.loss !== undefined && Number.isFinite(p.loss) && p.epoch !== undefined) {
        const frac = p.batches && p.batch !== undefined ? Math.min(1, p.batch / p.batches) : 1;
        const x = p.epoch - 1 + frac;
        batchLoss = [...batchLoss.filter((q) => q.x < x), { x, y: p.loss }];
        if (batchLoss.length > MAX_BATCH_POINTS) batchLoss = batchLoss.filter((_, i) => i % 2 === 0);
      }
      return { ...r, progress: p, batchLoss };
    });
  });
  api.on('run.epoch', (e) => update(e.runId, (r) => ({ ...r, metrics: mergeMetrics(r.metrics, [e.metrics]), confusion: e.confusion && e.confusion.matrix.length > 0 ? e.confusion : r.confusion })));
  api.on('run.log', (e) => update(e.runId, (r) => ({ ...r, logs: [...r.logs.slice(-199), e.message] })));
  api.on('job.finished', (j) => {
    const runId = jobToRun.get(j.id);
    if (runId !== undefined) update(runId, (r) => ({ ...r, ended: true }));
  });
}

/** Seeds (or refreshes) a run from the store: metrics and the latest matrix survive a reload. */
export function seedRun(d: RunDetail): void {
  if (d.jobId) jobToRun.set(d.jobId, d.id);
  update(d.id, (r) => ({
    ...r,
    metrics: mergeMetrics(d.metrics, r.metrics),
    confusion: r.confusion ?? d.confusion,
    ended: r.ended || d.state !== 'running',
  }));
}

export function liveRun(runId: number): LiveRun | undefined {
  return state.get(runId);
}

/** Subscribes the calling component to every live event (it re-renders on each). */
function useLiveEvents(): void {
  useEffect(subscribe, []);
  useSyncExternalStore(
    (fn) => {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    () => version,
  );
}

/** Re-renders on every live event; returns the run's live state (undefined before any). */
export function useLiveRun(runId: number | null): LiveRun | undefined {
  useLiveEvents();
  return runId === null ? undefined : state.get(runId);
}

/** The live progress of every run seen this session (for the queue). */
export function useLiveProgress(): Map<number, LiveRun> {
  useLiveEvents();
  return state;
}

subscribe();

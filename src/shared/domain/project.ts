/** Projects, classes, splits and the state of a job. */
import { z } from 'zod';

export const SPLITS = ['train', 'val', 'test'] as const;
export const splitSchema = z.enum(SPLITS);
export type Split = z.infer<typeof splitSchema>;

export interface ClassInfo {
  id: number;
  name: string;
  color: string;
  position: number;
}

export interface ClassCount extends ClassInfo {
  train: number;
  val: number;
  test: number;
  total: number;
}

export interface ProjectCounts {
  total: number;
  unlabelled: number;
  bySplit: Record<Split, number>;
  byClass: ClassCount[];
}

export interface ProjectInfo {
  dir: string;
  name: string;
  schemaVersion: number;
  createdAt: string;
  counts: ProjectCounts;
  runs: number;
}

export interface RecentProject {
  dir: string;
  name: string;
  openedAt: string;
  /** The folder no longer holds a project (moved or deleted). */
  missing?: boolean;
}

export const JOB_STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];

export interface JobProgress {
  done: number;
  total: number;
  message?: string;
}

/**
 * The StudioApi contract: every request (name -> zod input schema -> output type) and every
 * event stream. Both transports (Electron IPC and WebSocket) and the CLI speak exactly this;
 * adding a request means one entry here and one method on the Studio.
 */
import { z } from 'zod';
import type { StudioErrorShape } from './errors';
import type { ClassInfo, JobInfo, ProjectInfo, RecentProject } from './domain';

/** A request definition: the input schema, and the output type carried as a phantom. */
export interface RequestDef<I extends z.ZodType, O> {
  input: I;
  /** Never set; carries the output type for inference. */
  readonly output?: O;
}
const req =
  <O>() =>
  <I extends z.ZodType>(input: I): RequestDef<I, O> => ({ input });

const none = z.object({}).strict();
const dir = z.string().trim().min(1, 'a folder path is required');
const className = z.string().trim().min(1, 'a class name is required').max(100);
const color = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'a colour is #rrggbb');
const id = z.number().int().positive();

export interface AppInfo {
  version: string;
  mode: 'electron' | 'browser' | 'cli' | 'test';
  schemaVersion: number;
  project: ProjectInfo | null;
}

export interface CheckResult {
  integrity: string;
  images: number;
  missingFiles: number;
}

export const requests = {
  appInfo: req<AppInfo>()(none),
  createProject: req<ProjectInfo>()(z.object({ dir, name: z.string().trim().min(1).max(200).optional() }).strict()),
  openProject: req<ProjectInfo>()(z.object({ dir }).strict()),
  closeProject: req<null>()(none),
  projectInfo: req<ProjectInfo>()(none),
  recentProjects: req<RecentProject[]>()(none),
  forgetRecent: req<RecentProject[]>()(z.object({ dir }).strict()),
  renameProject: req<ProjectInfo>()(z.object({ name: z.string().trim().min(1).max(200) }).strict()),

  listClasses: req<ClassInfo[]>()(none),
  addClass: req<ClassInfo>()(z.object({ name: className, color: color.optional() }).strict()),
  updateClass: req<ClassInfo>()(z.object({ id, name: className.optional(), color: color.optional() }).strict()),
  deleteClass: req<null>()(z.object({ id }).strict()),

  listJobs: req<JobInfo[]>()(none),
  cancelJob: req<JobInfo>()(z.object({ id: z.string().min(1) }).strict()),
  /** Starts the project integrity check job and returns it at once. */
  checkProject: req<JobInfo>()(none),
} as const;

export type Requests = typeof requests;
export type RequestName = keyof Requests;
/** What a caller sends (defaults may be omitted). */
export type RequestInput<K extends RequestName> = z.input<Requests[K]['input']>;
/** What the Studio receives after parsing. */
export type ParsedInput<K extends RequestName> = z.output<Requests[K]['input']>;
export type RequestOutput<K extends RequestName> = Requests[K] extends RequestDef<z.ZodType, infer O> ? O : never;

export type StoreTopic = 'project' | 'classes' | 'images' | 'runs' | 'jobs';

export interface StudioEvents {
  'job.progress': JobInfo;
  'job.finished': JobInfo;
  'store.changed': { topics: StoreTopic[] };
}
export type EventName = keyof StudioEvents;
export const EVENT_NAMES: readonly EventName[] = ['job.progress', 'job.finished', 'store.changed'];

/** The client-side face of the contract, the same over IPC and WebSocket. */
export interface StudioApi {
  call<K extends RequestName>(name: K, input: RequestInput<K>): Promise<RequestOutput<K>>;
  on<E extends EventName>(event: E, listener: (payload: StudioEvents[E]) => void): () => void;
}

/** The outcome of one request as every transport carries it: never a thrown error. */
export type RequestResult = { ok: true; output: unknown } | { ok: false; error: StudioErrorShape };

/** Wire messages, shared by both transports. */
export interface WireRequest {
  id: number;
  name: string;
  input: unknown;
}
export type WireResponse =
  | { id: number; ok: true; output: unknown }
  | { id: number; ok: false; error: StudioErrorShape };
export interface WireEvent {
  event: EventName;
  payload: unknown;
}

export function isRequestName(name: unknown): name is RequestName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(requests, name);
}

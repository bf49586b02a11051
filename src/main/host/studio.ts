/**
 * The Studio: implements every request of the StudioApi contract by composing the services.
 * Created the same way by the Electron shell, the browser-mode server, the CLI and tests.
 * `handle` is the one entry point of every transport: it validates input with the request's
 * zod schema and turns every failure into a typed error.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import {
  type AppInfo,
  type CatalogModelInfo,
  type EventName,
  type JobInfo,
  type JobKind,
  type JobResults,
  type ParsedInput,
  type RequestName,
  type RequestOutput,
  type RequestResult,
  type StoreTopic,
  type StudioEvents,
  EVENT_NAMES,
  isRequestName,
  requests,
} from '../../shared/api';
import type { BackendInfo, EngineSetting, EngineTestInfo, InstalledModelInfo, ModelInspection, ClassInfo, ProjectInfo, RecentProject, RunDetail, RunSummary } from '../../shared/domain';
import { StudioError } from '../../shared/errors';
import { JobManager, type JobContext, type JobWork } from '../jobs/job-manager';
import * as classes from '../store/classes';
import { listJobs, saveJob } from '../store/jobs';
import { SCHEMA_VERSION } from '../store/migrations';
import { APP_VERSION, ProjectStore } from '../store/project-store';
import { RecentProjects } from './recent-projects';
import { predictableRun, predictImages } from '../training/predict-images';
import { explainImages, imageHeatmap } from '../training/explain-images';
import { TrainingService, trainingSet, type TrainingInput } from '../training/training-service';
import { deleteRun, resumableRun } from '../training/runs';
import { adviseForProject } from '../scenarios/advise-project';
import type { Engine, EngineMachine, EngineStart } from '../engine/protocol';
import { engineTestInfo, readEngineSetting, saveEngineSetting } from './engine-setting';
import type { AdviceInfo } from '../../shared/domain';
import * as runs from '../store/runs';
import { ModelLibrary } from '../models/library';
import { builtInModelsDir } from './paths';
import { downloadJob, listCatalog } from '../models/catalog-requests';
import { readImageFile } from '../media/files';
import * as predictions from '../store/predictions';
import type { ImageDetails, ImageRow, SourceStatus } from '../../shared/domain';
import { runImport } from '../media/import';
import { relocateSource } from '../media/sources';
import * as images from '../store/images';
import { sourcesStatus } from '../store/sources';
import { checkProject } from '../store/project-check';
import { runExport } from '../export/exports';
import * as audits from '../store/audits';
import { undoRemoval } from '../store/removals';
import { keepOne, moveClusterToSplit } from '../audit/duplicate-clusters';
import { labelNextQueue, latestRankingInfo } from '../store/label-next';
import { resolveSource } from '../audit/feature-source';
import { runAudit } from '../audit/audit-job';
import { mapPage, runMap } from '../audit/map-job';
import { runLabelNext } from '../audit/label-next-job';
import { diskFullError } from '../../shared/node/disk-full';

/** The engine as the host sees it (HostEngine); the shell passes the function that starts its process. */
export interface StudioEngine extends Engine {
  dispose(): Promise<void>;
  /** What the engine said when it started (version, machine), once it has. */
  ready?(): { version?: string; machine?: EngineMachine } | null;
}

export interface StudioOptions {
  /** Per-machine folder: recent projects, model cache. */
  userDataDir: string;
  mode: AppInfo['mode'];
  /**
   * Starts (lazily) the engine process with what the Studio gives it (its caches' folders, in the
   * user data folder); absent where no training is wanted (some tests).
   */
  engine?: (start: EngineStart) => StudioEngine;
  /**
   * Instead of `engine`: the engine a setting names ('' this machine, ssh://... a server), used with
   * `engineSetting` when given (TRANSFER_STUDIO_ENGINE, --engine), else the one saved in the user data folder.
   */
  engineFor?: (setting: string, start: EngineStart) => StudioEngine;
  engineSetting?: string;
  /**
   * Base URL serving catalog models laid out as <mirror>/<model id>/model.json instead of their
   * publisher (offline sites, tests); default: the TRANSFER_STUDIO_MODEL_MIRROR environment variable.
   */
  modelMirror?: string;
  /** The read-only models shipped with the app; default: resources/models (paths.ts). null: none. */
  builtInModels?: string | null;
}

/** Every request as a method taking its parsed input: the compiler checks Studio covers the contract. */
export type StudioHandlers = { [K in RequestName]: (input: ParsedInput<K>) => Promise<RequestOutput<K>> };


export class Studio implements StudioHandlers {
  private project: ProjectStore | null = null;
  private readonly events = new EventEmitter();
  private readonly recent: RecentProjects;
  readonly jobs: JobManager;

  private readonly training: TrainingService;
  readonly models: ModelLibrary;
  private engineInstance: StudioEngine | undefined;
  private readonly modelImports = new Set<AbortController>();

  constructor(readonly options: StudioOptions) {
    this.recent = new RecentProjects(options.userDataDir);
    this.models = new ModelLibrary(options.userDataDir, { builtInDir: options.builtInModels === undefined ? builtInModelsDir() : options.builtInModels });
    this.training = new TrainingService(() => this.engine(), {
      progress: (p) => this.emit('run.progress', p),
      epoch: (e) => {
        this.emit('run.epoch', e);
        this.changed('runs');
      },
      log: (e) => this.emit('run.log', e),
    });
    this.jobs = new JobManager({
      save: (job) => {
        if (this.project?.db.open) saveJob(this.project.db, job);
      },
      progress: (job) => this.emit('job.progress', job),
      finished: (job) => {
        this.emit('job.finished', job);
        this.changed('jobs');
      },
      describe: (err) => this.describeError(err),
    });
  }

  // ---- transport entry -------------------------------------------------------------------

  /** Validates and runs one request. Never throws: failures come back as typed errors. */
  async handle(name: unknown, input: unknown): Promise<RequestResult> {
    try {
      if (!isRequestName(name)) throw new StudioError('unknown_request', `There is no request named ${JSON.stringify(name)}.`);
      const schema: z.ZodType = requests[name].input;
      const parsed = schema.safeParse(input ?? {});
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        const field = issue.path.join('.') || undefined;
        throw new StudioError('bad_request', `${name}: ${field ? `${field}: ` : ''}${issue.message}`, field);
      }
      const method = this[name] as (input: unknown) => Promise<unknown>;
      const output = await method.call(this, parsed.data);
      return { ok: true, output: output ?? null };
    } catch (err) {
      return { ok: false, error: this.describeError(err).toJSON() };
    }
  }

  /** A failure as the contract's error; a write that failed for lack of space says which disk (the project's, else the user data folder's). */
  private describeError(err: unknown): StudioError {
    return diskFullError(err, this.project?.dir ?? this.options.userDataDir) ?? StudioError.from(err);
  }

  /** Typed in-process call (CLI and tests), throwing StudioError on failure. */
  async call<K extends RequestName>(name: K, input: z.input<(typeof requests)[K]['input']>): Promise<RequestOutput<K>> {
    const r = await this.handle(name, input);
    if (!r.ok) throw new StudioError(r.error.code, r.error.message, r.error.field);
    return r.output as RequestOutput<K>;
  }

  on<E extends EventName>(event: E, listener: (payload: StudioEvents[E]) => void): () => void {
    this.events.on(event, listener);
    return () => this.events.off(event, listener);
  }

  /** Every event, for transports that forward all of them. */
  onAny(listener: (event: EventName, payload: unknown) => void): () => void {
    const fns = EVENT_NAMES.map((e) => {
      const fn = (p: unknown): void => listener(e, p);
      this.events.on(e, fn);
      return [e, fn] as const;
    });
    return () => fns.forEach(([e, fn]) => this.events.off(e, fn));
  }

  protected emit<E extends EventName>(event: E, payload: StudioEvents[E]): void {
    this.events.emit(event, payload);
  }

  protected changed(...topics: StoreTopic[]): void {
    this.emit('store.changed', { topics });
  }

  /** The open project, or a typed error for requests that need one. */
  store(): ProjectStore {
    if (!this.project) throw new StudioError('no_project', 'No project is open. Create or open a project first.');
    return this.project;
  }

  /** Runs work as a job of the open project. */
  protected startJob<K extends JobKind>(kind: K, work: JobWork<JobResults[K]>): JobInfo<K> {
    this.store();
    return this.jobs.start(kind, work).job;
  }

  /**
   * A file of the open project that transports may serve: an image's thumbnail (remade from the
   * original if it was deleted) or the original as imported. Only files of images in the open project.
   */
  async readProjectFile(kind: 'thumb' | 'image', id: number): Promise<Buffer | null> {
    return this.project ? readImageFile(this.project, kind, id) : null;
  }

  /** Whether this studio was given an engine (some tests make one without). */
  protected get hasEngine(): boolean {
    return Boolean(this.options.engine ?? this.options.engineFor);
  }

  /** What the Studio gives an engine it starts: its caches' folder in the user data folder. */
  private engineStart(): EngineStart {
    return { onnxCacheDir: path.join(this.models.root, '.onnx') };
  }

  /** The engine, started on first use and reused; the engine client restarts its process if it dies. */
  protected engine(): StudioEngine {
    const { engine, engineFor } = this.options;
    if (!engine && !engineFor) throw new StudioError('engine_failed', 'This studio was started without a training engine.');
    this.engineInstance ??= engine ? engine(this.engineStart()) : engineFor!(this.currentEngineSetting().engine, this.engineStart());
    return this.engineInstance;
  }

  private currentEngineSetting(): EngineSetting {
    const fixed = this.options.engineSetting;
    return fixed !== undefined ? { engine: fixed, fixed: true } : { engine: readEngineSetting(this.options.userDataDir), fixed: false };
  }

  async dispose(): Promise<void> {
    await this.engineInstance?.dispose();
    this.engineInstance = undefined;
    await this.jobs.cancelAll();
    this.project?.close();
    this.project = null;
  }

  // ---- app and project ---------------------------------------------------------------------

  async appInfo(): Promise<AppInfo> {
    return { version: APP_VERSION, mode: this.options.mode, schemaVersion: SCHEMA_VERSION, project: this.project?.info() ?? null };
  }

  async createProject(input: ParsedInput<'createProject'>): Promise<ProjectInfo> {
    const store = ProjectStore.create(input.dir, input.name);
    return this.switchTo(store);
  }

  async openProject(input: ParsedInput<'openProject'>): Promise<ProjectInfo> {
    const abs = path.resolve(input.dir);
    if (this.project?.dir === abs) return this.project.info();
    return this.switchTo(ProjectStore.open(abs));
  }

  private async switchTo(store: ProjectStore): Promise<ProjectInfo> {
    await this.jobs.cancelAll();
    this.project?.close();
    this.project = store;
    const info = store.info();
    this.recent.touch(info.dir, info.name);
    this.changed('project', 'classes', 'images', 'runs', 'jobs');
    return info;
  }

  async closeProject(): Promise<null> {
    await this.jobs.cancelAll();
    this.project?.close();
    this.project = null;
    this.changed('project');
    return null;
  }

  async projectInfo(): Promise<ProjectInfo> {
    return this.store().info();
  }

  async recentProjects(): Promise<RecentProject[]> {
    return this.recent.list().map((p) => ({ ...p, missing: !fs.existsSync(path.join(p.dir, 'project.sqlite')) }));
  }

  async forgetRecent(input: ParsedInput<'forgetRecent'>): Promise<RecentProject[]> {
    return this.recent.forget(input.dir);
  }

  async renameProject(input: ParsedInput<'renameProject'>): Promise<ProjectInfo> {
    const store = this.store();
    store.rename(input.name);
    this.recent.touch(store.dir, input.name);
    this.changed('project');
    return store.info();
  }

  // ---- classes -----------------------------------------------------------------------------

  async listClasses(): Promise<ClassInfo[]> {
    return classes.listClasses(this.store().db);
  }

  async addClass(input: ParsedInput<'addClass'>): Promise<ClassInfo> {
    const c = classes.addClass(this.store().db, input.name, input.color);
    this.changed('classes');
    return c;
  }

  async addClassesFromModel(input: ParsedInput<'addClassesFromModel'>): Promise<ClassInfo[]> {
    this.models.require(input.model);
    const labels = this.models.list().find((m) => m.id === input.model)?.teachable?.labels ?? [];
    if (labels.length === 0) throw new StudioError('bad_input', `The model "${input.model}" names no classes: only a Teachable Machine export (its metadata.json) carries its labels.`, 'model');
    const ids = classes.ensureClasses(this.store().db, labels);
    this.changed('classes');
    const wanted = new Set(ids.values());
    return classes.listClasses(this.store().db).filter((c) => wanted.has(c.id));
  }

  async updateClass(input: ParsedInput<'updateClass'>): Promise<ClassInfo> {
    const c = classes.updateClass(this.store().db, input.id, input);
    this.changed('classes');
    return c;
  }

  async deleteClass(input: ParsedInput<'deleteClass'>): Promise<null> {
    classes.deleteClass(this.store().db, input.id);
    this.changed('classes', 'images');
    return null;
  }

  // ---- jobs --------------------------------------------------------------------------------

  async listJobs(): Promise<JobInfo[]> {
    const running = this.jobs.list();
    const ids = new Set(running.map((j) => j.id));
    const stored = this.project ? listJobs(this.project.db).filter((j) => !ids.has(j.id)) : [];
    return [...running, ...stored];
  }

  async cancelJob(input: ParsedInput<'cancelJob'>): Promise<JobInfo> {
    const job = this.jobs.cancel(input.id);
    if (!job) throw new StudioError('not_found', `No running job has id ${input.id}.`, 'id');
    return job;
  }

  async checkProject(): Promise<JobInfo<'check'>> {
    const store = this.store();
    return this.startJob('check', (ctx) => checkProject(store, ctx));
  }

  // ---- images: import, gallery, labels, splits --------------------------------------------

  async importImages(input: ParsedInput<'importImages'>): Promise<JobInfo<'import'>> {
    const store = this.store();
    let lastChanged = 0;
    return this.startJob('import', async (ctx) => {
      try {
        return await runImport(store, input, ctx, {
          onCommit: () => {
            // Let the gallery show images as they arrive, at most once a second.
            if (Date.now() - lastChanged < 1000) return;
            lastChanged = Date.now();
            this.changed('images', 'classes');
          },
        });
      } finally {
        this.changed('images', 'classes', 'project');
      }
    });
  }

  async listImages(input: ParsedInput<'listImages'>): Promise<{ rows: ImageRow[]; total: number }> {
    return images.listImages(this.store().db, input);
  }

  async imageIds(input: ParsedInput<'imageIds'>): Promise<number[]> {
    return images.imageIds(this.store().db, input.filter);
  }

  async imageDetails(input: ParsedInput<'imageDetails'>): Promise<ImageDetails> {
    const d = images.imageDetails(this.store().db, input.id);
    return { ...d, exists: fs.existsSync(d.path) };
  }

  async setLabels(input: ParsedInput<'setLabels'>): Promise<RequestOutput<'setLabels'>> {
    const r = images.setLabels(this.store().db, input.ids, input.classId);
    this.changed('images');
    return r;
  }

  async restoreLabels(input: ParsedInput<'restoreLabels'>): Promise<RequestOutput<'restoreLabels'>> {
    const r = images.restoreLabels(this.store().db, input.groups);
    this.changed('images');
    return r;
  }

  async setSplit(input: ParsedInput<'setSplit'>): Promise<RequestOutput<'setSplit'>> {
    const r = images.setSplit(this.store().db, input.ids, input.split);
    this.changed('images');
    return r;
  }

  async restoreSplits(input: ParsedInput<'restoreSplits'>): Promise<RequestOutput<'restoreSplits'>> {
    const r = images.restoreSplits(this.store().db, input.groups);
    this.changed('images');
    return r;
  }

  async mergeClasses(input: ParsedInput<'mergeClasses'>): Promise<{ moved: number }> {
    const r = images.mergeClasses(this.store().db, Array.isArray(input.from) ? input.from : [input.from], input.into);
    this.changed('images', 'classes');
    return r;
  }

  async autoSplit(input: ParsedInput<'autoSplit'>): Promise<RequestOutput<'autoSplit'>> {
    const r = images.stratifiedSplit(this.store().db, input.val, input.seed);
    this.changed('images');
    return r;
  }

  // ---- the data audit: label issues, near-duplicates and leaks, the map, label next ------------

  async startAudit(input: ParsedInput<'startAudit'>): Promise<JobInfo<'audit'>> {
    const store = this.store();
    resolveSource(store, this.models, input); // a missing run or model is refused before a job exists
    return this.startJob('audit', (ctx) => runAudit(store, this.engine(), this.models, input, ctx).finally(() => this.changed('audit')));
  }

  async auditSummary(): Promise<RequestOutput<'auditSummary'>> {
    return audits.auditSummary(this.store().db);
  }

  async listLabelIssues(input: ParsedInput<'listLabelIssues'>): Promise<RequestOutput<'listLabelIssues'>> {
    return audits.listLabelIssues(this.store().db, input);
  }

  async confirmLabels(input: ParsedInput<'confirmLabels'>): Promise<RequestOutput<'confirmLabels'>> {
    const r = audits.confirmLabels(this.store().db, input.ids);
    this.changed('audit');
    return r;
  }

  async unconfirmLabels(input: ParsedInput<'unconfirmLabels'>): Promise<RequestOutput<'unconfirmLabels'>> {
    const r = audits.unconfirmLabels(this.store().db, input.ids);
    this.changed('audit');
    return r;
  }

  async listDuplicateClusters(input: ParsedInput<'listDuplicateClusters'>): Promise<RequestOutput<'listDuplicateClusters'>> {
    return audits.listDuplicateClusters(this.store().db, input);
  }

  async keepOne(input: ParsedInput<'keepOne'>): Promise<RequestOutput<'keepOne'>> {
    const r = keepOne(this.store().db, input.clusterId, input.keepImageId);
    this.changed('images', 'classes', 'project', 'audit');
    return r;
  }

  async undoRemoval(input: ParsedInput<'undoRemoval'>): Promise<RequestOutput<'undoRemoval'>> {
    const r = undoRemoval(this.store().db, input.removalId);
    this.changed('images', 'classes', 'project', 'audit');
    return r;
  }

  async moveClusterToSplit(input: ParsedInput<'moveClusterToSplit'>): Promise<RequestOutput<'moveClusterToSplit'>> {
    const r = moveClusterToSplit(this.store().db, input.clusterId, input.split);
    this.changed('images', 'audit');
    return r;
  }

  async startEmbeddingMap(input: ParsedInput<'startEmbeddingMap'>): Promise<JobInfo<'map'>> {
    const store = this.store();
    resolveSource(store, this.models, input);
    return this.startJob('map', (ctx) => runMap(store, this.engine(), this.models, input, ctx).finally(() => this.changed('audit')));
  }

  async embeddingMap(input: ParsedInput<'embeddingMap'>): Promise<RequestOutput<'embeddingMap'>> {
    return mapPage(this.store(), input.offset, input.limit);
  }

  async startLabelNext(input: ParsedInput<'startLabelNext'>): Promise<JobInfo<'label-next'>> {
    const store = this.store();
    resolveSource(store, this.models, input);
    return this.startJob('label-next', (ctx) => runLabelNext(store, this.engine(), this.models, input, ctx).finally(() => this.changed('audit')));
  }

  async labelNextQueue(input: ParsedInput<'labelNextQueue'>): Promise<RequestOutput<'labelNextQueue'>> {
    const db = this.store().db;
    return { ...labelNextQueue(db, input), ranking: latestRankingInfo(db) };
  }

  // ---- export ------------------------------------------------------------------------------

  /** Submission / probabilities CSV of the test set, or the labelled dataset (tree or CSV), as a job. */
  async exportData(input: ParsedInput<'exportData'>): Promise<JobInfo<'export'>> {
    const store = this.store();
    return this.startJob('export', (ctx) => runExport(store, input, ctx, this.hasEngine ? () => this.engine() : undefined));
  }

  async sourcesStatus(): Promise<SourceStatus[]> {
    return sourcesStatus(this.store().db);
  }

  async relocateSource(input: ParsedInput<'relocateSource'>): Promise<SourceStatus> {
    const store = this.store();
    await relocateSource(store, input.id, input.root);
    this.changed('images');
    return sourcesStatus(store.db).find((s) => s.id === input.id)!;
  }

  // ---- training ----------------------------------------------------------------------------

  async startTraining(input: ParsedInput<'startTraining'>): Promise<{ job: JobInfo<'train'>; runId: number }> {
    const store = this.store();
    const { classNames, items } = trainingSet(store);
    const modelDir = this.models.require(input.config.model);
    // Refused before a run exists when the model cannot train so (the error names the field).
    const plan = await this.engine().call('planTraining', { modelDir, config: input.config });
    return this.queueRun(store, (jobId) => runs.createRun(store.db, { config: input.config, classNames, jobId }), { classNames, items, modelDir, config: input.config, plan });
  }

  /** Records the run (new, or reopened for a resume) under a new job id and queues its training. */
  private queueRun(store: ProjectStore, record: (jobId: string) => number, input: TrainingInput): { job: JobInfo<'train'>; runId: number } {
    const jobId = JobManager.newId();
    const runId = record(jobId);
    const work = (ctx: JobContext): Promise<JobResults['train']> => this.training.enqueue(store, runId, input, ctx).finally(() => this.changed('runs'));
    const { job } = this.jobs.start('train', work, jobId);
    this.changed('runs');
    return { job, runId };
  }

  async resumeRun(input: ParsedInput<'resumeRun'>): Promise<{ job: JobInfo<'train'>; runId: number }> {
    const store = this.store();
    const { runId, config, classNames, items } = resumableRun(store, input.id, input.epochs);
    const modelDir = this.models.require(config.model);
    const plan = await this.engine().call('planTraining', { modelDir, config });
    const record = (jobId: string): number => {
      runs.reopenRun(store.db, runId, jobId, config);
      return runId;
    };
    return this.queueRun(store, record, { classNames, items, modelDir, config, plan, resume: true });
  }

  async listRuns(): Promise<RunSummary[]> {
    return runs.listRuns(this.store().db);
  }

  async getRun(input: ParsedInput<'getRun'>): Promise<RunDetail> {
    return runs.runDetail(this.store().db, input.id);
  }

  async deleteRun(input: ParsedInput<'deleteRun'>): Promise<null> {
    deleteRun(this.store(), input.id);
    this.changed('runs');
    return null;
  }

  async predictImages(input: ParsedInput<'predictImages'>): Promise<JobInfo<'predict'>> {
    const store = this.store();
    const runId = input.runId ?? runs.latestSucceededRun(store.db)?.id;
    if (runId === undefined) throw new StudioError('bad_input', 'There is no finished run to predict with: train a model first.', 'runId');
    const run = predictableRun(store, runId);
    return this.startJob('predict', async (ctx) => {
      try {
        return await predictImages(store, this.engine(), run, {
          splits: input.splits,
          signal: ctx.signal,
          onProgress: (done, total) => ctx.progress(done, total, 'Predicting'),
        });
      } finally {
        this.changed('runs', 'images');
      }
    });
  }

  /** A finished run: the one asked for, else the latest succeeded. */
  private finishedRun(runId: number | undefined): { id: number; classNames: string[] } {
    const store = this.store();
    const id = runId ?? runs.latestSucceededRun(store.db)?.id;
    if (id === undefined) throw new StudioError('bad_input', 'There is no finished run: train a model first.', 'runId');
    return predictableRun(store, id);
  }

  async explainImages(input: ParsedInput<'explainImages'>): Promise<JobInfo<'explain'>> {
    const store = this.store();
    const run = this.finishedRun(input.runId);
    return this.startJob('explain', (ctx) => explainImages(store, this.engine(), run, input, ctx));
  }

  async imageHeatmap(input: ParsedInput<'imageHeatmap'>): Promise<RequestOutput<'imageHeatmap'>> {
    return imageHeatmap(this.store(), this.engine(), this.finishedRun(input.runId), input.imageId, input.className);
  }

  async advise(input: ParsedInput<'advise'>): Promise<AdviceInfo> {
    const store = this.store();
    const id = input.model ?? this.models.defaultModel()?.id;
    const model = id ? { id, dir: this.models.require(id) } : null;
    return adviseForProject(store, { model, engine: this.hasEngine ? this.engine() : null }, input.similarity);
  }

  async engineInfo(): Promise<BackendInfo> {
    return this.engine().call('backend', {});
  }

  async engineSetting(): Promise<EngineSetting> {
    return this.currentEngineSetting();
  }

  async setEngineSetting(input: ParsedInput<'setEngineSetting'>): Promise<EngineSetting> {
    if (this.currentEngineSetting().fixed) throw new StudioError('conflict', 'TRANSFER_STUDIO_ENGINE (or --engine) sets where the engine runs for this session.', 'engine');
    if (!this.options.engineFor) throw new StudioError('conflict', 'This studio has one engine; where it runs cannot be changed.', 'engine');
    this.options.engineFor(input.engine, this.engineStart()); // a bad address is refused before anything is saved
    if (this.jobs.list().some((j) => j.state === 'running'))
      throw new StudioError('conflict', 'Jobs are running: change where the engine runs when they have finished.', 'engine');
    saveEngineSetting(this.options.userDataDir, input.engine);
    await this.engineInstance?.dispose();
    this.engineInstance = undefined;
    return this.currentEngineSetting();
  }

  async testEngine(input: ParsedInput<'testEngine'>): Promise<EngineTestInfo> {
    if (!this.options.engineFor) throw new StudioError('engine_failed', 'This studio was started without a choice of engine.');
    const engine = this.options.engineFor(input.engine, this.engineStart());
    try {
      const backend = await engine.call('backend', {});
      return engineTestInfo(backend, engine.ready?.() ?? null, APP_VERSION);
    } finally {
      await engine.dispose();
    }
  }

  // ---- predictions: evaluation views and label suggestions -------------------------------

  async listPredictions(input: ParsedInput<'listPredictions'>): Promise<RequestOutput<'listPredictions'>> {
    return predictions.listPredictions(this.store().db, input);
  }

  async acceptSuggestions(input: ParsedInput<'acceptSuggestions'>): Promise<RequestOutput<'acceptSuggestions'>> {
    const r = predictions.acceptSuggestions(this.store().db, input);
    this.changed('images');
    return r;
  }

  // ---- models ------------------------------------------------------------------------------

  async listModels(): Promise<InstalledModelInfo[]> {
    return this.models.list();
  }

  async importModel(input: ParsedInput<'importModel'>): Promise<InstalledModelInfo> {
    // A request, not a job, but cancelAll (Ctrl-C) stops it too: the engine's validation is
    // cancelled (a busy engine restarted after its grace) and nothing is installed.
    const controller = new AbortController();
    this.modelImports.add(controller);
    const cancelled = (): StudioError => new StudioError('cancelled', 'The model import was cancelled; nothing was installed.');
    const validate = async (dir: string): Promise<{ params: number; inputSize: number | null; layers: number }> => {
      const v = await this.validateModel(dir, controller.signal).catch((err: unknown) => {
        throw controller.signal.aborted ? cancelled() : err; // the engine stopped for the cancel
      });
      if (controller.signal.aborted) throw cancelled();
      return v;
    };
    try {
      const m = await this.models.importPath(input.dir, {
        ...(input.id !== undefined ? { id: input.id } : {}),
        replace: input.replace,
        ...(input.preprocessing ? { preprocessing: input.preprocessing } : {}),
        ...(this.hasEngine ? { validate } : {}),
      });
      this.changed('models');
      return m;
    } finally {
      this.modelImports.delete(controller);
    }
  }

  /** Cancels every job and every model import in flight (a CLI's Ctrl-C). */
  async cancelAll(): Promise<void> {
    for (const c of this.modelImports) c.abort();
    await this.jobs.cancelAll();
  }

  /** A model is installed only once the engine has built it (a Keras file's weights checked layer by layer). */
  private readonly validateModel = async (dir: string, signal?: AbortSignal): Promise<{ params: number; inputSize: number | null; layers: number }> => {
    const info = await this.inspectModelDir(dir, signal);
    return { params: info.params, inputSize: typeof info.inputShape[0] === 'number' && info.inputShape[0] > 0 ? info.inputShape[0] : null, layers: info.layers.length };
  };

  async listCatalog(): Promise<CatalogModelInfo[]> {
    return listCatalog(this.models);
  }

  /** A download job; it needs no open project (models are per machine). */
  async downloadModel(input: ParsedInput<'downloadModel'>): Promise<JobInfo<'download'>> {
    const mirror = this.options.modelMirror ?? process.env.TRANSFER_STUDIO_MODEL_MIRROR;
    const work = downloadJob(this.models, input, mirror || undefined, this.hasEngine ? this.validateModel : undefined);
    return this.jobs.start('download', (ctx) => work(ctx).finally(() => this.changed('models'))).job;
  }

  async setModelHidden(input: ParsedInput<'setModelHidden'>): Promise<InstalledModelInfo> {
    const m = this.models.setHidden(input.id, input.hidden);
    this.changed('models');
    return m;
  }

  async removeModel(input: ParsedInput<'removeModel'>): Promise<null> {
    this.models.remove(input.id);
    this.changed('models');
    return null;
  }

  async inspectModel(input: ParsedInput<'inspectModel'>): Promise<ModelInspection> {
    return this.inspectModelDir(this.models.require(input.id));
  }

  /** The engine answers a broken model folder with a typed bad_model error (host/engine.ts). */
  private inspectModelDir(dir: string, signal?: AbortSignal): Promise<ModelInspection> {
    return this.engine().call('inspectModel', { modelDir: dir }, signal ? { signal } : {});
  }
}

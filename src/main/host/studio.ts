/**
 * The Studio: implements every request of the StudioApi contract by composing the services.
 * Created the same way by the Electron shell, the browser-mode server, the CLI and tests.
 * `handle` is the one entry point of every transport: it validates input with the request's
 * zod schema and turns every failure into a typed error.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import type { AppInfo, CatalogModelInfo, EventName, JobInfo, JobKind, JobResults, ParsedInput, RequestName, RequestOutput, RequestResult, StoreTopic, StudioEvents, requests } from '../../shared/api';
import type { AdviceInfo, BackendInfo, ClassInfo, EngineSetting, EngineTestInfo, ImageDetails, ImageRow, InstalledModelInfo, ModelInspection, ProjectInfo, RecentProject, RunDetail, RunSummary, SourceStatus } from '../../shared/domain';
import { StudioError } from '../../shared/errors';
import { diskFullError } from '../../shared/node/disk-full';
import { JobManager, type JobContext, type JobWork } from '../jobs/job-manager';
import * as classes from '../store/classes';
import { listJobs, saveJob } from '../store/jobs';
import { SCHEMA_VERSION } from '../store/migrations';
import { APP_VERSION, ProjectStore } from '../store/project-store';
import * as runs from '../store/runs';
import * as predictions from '../store/predictions';
import { listSweeps } from '../store/sweeps';
import * as images from '../store/images';
import { sourcesStatus } from '../store/sources';
import { checkProject } from '../store/project-check';
import * as audits from '../store/audits';
import { undoRemoval } from '../store/removals';
import { labelNextQueue, latestRankingInfo } from '../store/label-next';
import { finishedRun, predictableRun, predictEnsemble, predictImages, viewsFor } from '../training/predict-images';
import { ensembleOf, ensembleSummary, listEnsemblePredictions } from '../store/ensemble-predictions';
import { explainImages, imageHeatmap } from '../training/explain-images';
import { TrainingService, trainingSet, type TrainingInput } from '../training/training-service';
import { deleteRun, resumableRun } from '../training/runs';
import { SweepService } from '../training/sweep-service';
import { adviseForProject } from '../scenarios/advise-project';
import { ModelLibrary } from '../models/library';
import { ModelImports } from '../models/model-import';
import { downloadJob, listCatalog } from '../models/catalog-requests';
import { readImageFile } from '../media/files';
import { runImport } from '../media/import';
import { relocateSource } from '../media/sources';
import { runExport } from '../export/exports';
import { keepOne, moveClusterToSplit } from '../audit/duplicate-clusters';
import { resolveSource } from '../audit/feature-source';
import { runAudit } from '../audit/audit-job';
import { mapPage, runMap } from '../audit/map-job';
import { runLabelNext } from '../audit/label-next-job';
import { RecentProjects } from './recent-projects';
import { builtInModelsDir } from './paths';
import { EngineHost, type EngineOptions, type StudioEngine } from './engine-host';
import { StudioEventHub } from './studio-events';
import { parseRequest } from './request-input';

export interface StudioOptions extends EngineOptions {
  /** Per-machine folder: recent projects, model cache, engine setting. */
  userDataDir: string;
  mode: AppInfo['mode'];
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
  private readonly events = new StudioEventHub();
  private readonly recent: RecentProjects;
  readonly jobs: JobManager;

  private readonly training: TrainingService;
  private readonly sweeps: SweepService;
  readonly models: ModelLibrary;
  private readonly engineHost: EngineHost;
  private readonly modelImports: ModelImports;

  constructor(readonly options: StudioOptions) {
    this.recent = new RecentProjects(options.userDataDir);
    this.models = new ModelLibrary(options.userDataDir, { builtInDir: options.builtInModels === undefined ? builtInModelsDir() : options.builtInModels });
    this.engineHost = new EngineHost(options, path.join(this.models.root, '.onnx'));
    this.modelImports = new ModelImports(this.models);
    this.training = new TrainingService(() => this.engine(), {
      progress: (p) => this.events.emit('run.progress', p),
      epoch: (e) => {
        this.events.emit('run.epoch', e);
        this.changed('runs');
      },
      log: (e) => this.events.emit('run.log', e),
    });
    this.jobs = new JobManager({
      save: (job) => {
        if (this.project?.db.open) saveJob(this.project.db, job);
      },
      progress: (job) => this.events.emit('job.progress', job),
      finished: (job) => {
        this.events.emit('job.finished', job);
        this.changed('jobs');
      },
      describe: (err) => this.describeError(err),
    });
    this.sweeps = new SweepService({
      engine: () => this.engine(),
      modelDir: (id) => this.models.require(id),
      jobs: this.jobs,
      training: this.training,
      changed: (...topics) => this.changed(...topics),
    });
  }

  // ---- transport entry -------------------------------------------------------------------

  /** Validates and runs one request. Never throws: failures come back as typed errors. */
  async handle(name: unknown, input: unknown): Promise<RequestResult> {
    try {
      const request = parseRequest(name, input);
      const method = this[request.name] as (input: unknown) => Promise<unknown>;
      const output = await method.call(this, request.input);
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
    return this.events.on(event, listener);
  }

  /** Every event, for transports that forward all of them. */
  onAny(listener: (event: EventName, payload: unknown) => void): () => void {
    return this.events.onAny(listener);
  }

  protected changed(...topics: StoreTopic[]): void {
    this.events.changed(...topics);
  }

  /** `result` of a change to the store, once the views are told which topics to read again. */
  private changedAfter<T>(result: T, ...topics: StoreTopic[]): T {
    this.changed(...topics);
    return result;
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
    return this.engineHost.available;
  }

  /** The engine, started on first use and reused (engine-host.ts). */
  protected engine(): StudioEngine {
    return this.engineHost.engine();
  }

  async dispose(): Promise<void> {
    await this.engineHost.dispose();
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
    return this.changedAfter(classes.addClass(this.store().db, input.name, input.color), 'classes');
  }

  async addClassesFromModel(input: ParsedInput<'addClassesFromModel'>): Promise<ClassInfo[]> {
    const labels = this.models.classLabels(input.model);
    const ids = classes.ensureClasses(this.store().db, labels);
    this.changed('classes');
    const wanted = new Set(ids.values());
    return classes.listClasses(this.store().db).filter((c) => wanted.has(c.id));
  }

  async updateClass(input: ParsedInput<'updateClass'>): Promise<ClassInfo> {
    return this.changedAfter(classes.updateClass(this.store().db, input.id, input), 'classes');
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
    return this.changedAfter(images.setLabels(this.store().db, input.ids, input.classId), 'images');
  }

  async restoreLabels(input: ParsedInput<'restoreLabels'>): Promise<RequestOutput<'restoreLabels'>> {
    return this.changedAfter(images.restoreLabels(this.store().db, input.groups), 'images');
  }

  async setSplit(input: ParsedInput<'setSplit'>): Promise<RequestOutput<'setSplit'>> {
    return this.changedAfter(images.setSplit(this.store().db, input.ids, input.split), 'images');
  }

  async restoreSplits(input: ParsedInput<'restoreSplits'>): Promise<RequestOutput<'restoreSplits'>> {
    return this.changedAfter(images.restoreSplits(this.store().db, input.groups), 'images');
  }

  async mergeClasses(input: ParsedInput<'mergeClasses'>): Promise<{ moved: number }> {
    return this.changedAfter(images.mergeClasses(this.store().db, Array.isArray(input.from) ? input.from : [input.from], input.into), 'images', 'classes');
  }

  async autoSplit(input: ParsedInput<'autoSplit'>): Promise<RequestOutput<'autoSplit'>> {
    return this.changedAfter(images.stratifiedSplit(this.store().db, input.val, input.seed), 'images');
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
    return this.changedAfter(audits.confirmLabels(this.store().db, input.ids), 'audit');
  }

  async unconfirmLabels(input: ParsedInput<'unconfirmLabels'>): Promise<RequestOutput<'unconfirmLabels'>> {
    return this.changedAfter(audits.unconfirmLabels(this.store().db, input.ids), 'audit');
  }

  async listDuplicateClusters(input: ParsedInput<'listDuplicateClusters'>): Promise<RequestOutput<'listDuplicateClusters'>> {
    return audits.listDuplicateClusters(this.store().db, input);
  }

  async keepOne(input: ParsedInput<'keepOne'>): Promise<RequestOutput<'keepOne'>> {
    return this.changedAfter(keepOne(this.store().db, input.clusterId, input.keepImageId), 'images', 'classes', 'project', 'audit');
  }

  async undoRemoval(input: ParsedInput<'undoRemoval'>): Promise<RequestOutput<'undoRemoval'>> {
    return this.changedAfter(undoRemoval(this.store().db, input.removalId), 'images', 'classes', 'project', 'audit');
  }

  async moveClusterToSplit(input: ParsedInput<'moveClusterToSplit'>): Promise<RequestOutput<'moveClusterToSplit'>> {
    return this.changedAfter(moveClusterToSplit(this.store().db, input.clusterId, input.split), 'images', 'audit');
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

  async cancelRun(input: ParsedInput<'cancelRun'>): Promise<null> {
    this.sweeps.cancelRun(this.store(), input.id);
    return null;
  }

  // ---- sweeps ------------------------------------------------------------------------------

  async planSweep(input: ParsedInput<'planSweep'>): Promise<RequestOutput<'planSweep'>> {
    return this.sweeps.plan(this.store(), input);
  }

  async startSweep(input: ParsedInput<'startSweep'>): Promise<RequestOutput<'startSweep'>> {
    return this.sweeps.start(this.store(), input);
  }

  async resumeSweep(input: ParsedInput<'resumeSweep'>): Promise<RequestOutput<'resumeSweep'>> {
    return this.sweeps.resume(this.store(), input.id);
  }

  async cancelSweep(input: ParsedInput<'cancelSweep'>): Promise<null> {
    this.sweeps.cancelSweep(this.store(), input.id);
    return null;
  }

  async listSweeps(): Promise<RequestOutput<'listSweeps'>> {
    return listSweeps(this.store().db);
  }

  async sweepLeaderboard(input: ParsedInput<'sweepLeaderboard'>): Promise<RequestOutput<'sweepLeaderboard'>> {
    return this.sweeps.leaderboard(this.store(), input.id);
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
    const views = viewsFor(input.tta);
    if (input.runs !== undefined) {
      const members = ensembleOf(store.db, input.runs).runs; // refused before a job starts
      return this.startJob('predict', (ctx) =>
        predictEnsemble(store, this.engine(), members, { splits: input.splits, views, signal: ctx.signal, onProgress: (done, total) => ctx.progress(done, total, 'Predicting (ensemble)') }).finally(() =>
          this.changed('runs', 'images'),
        ),
      );
    }
    const runId = input.runId ?? runs.latestSucceededRun(store.db)?.id;
    if (runId === undefined) throw new StudioError('bad_input', 'There is no finished run to predict with: train a model first.', 'runId');
    const run = predictableRun(store, runId);
    return this.startJob('predict', async (ctx) => {
      try {
        return await predictImages(store, this.engine(), run, {
          splits: input.splits,
          views,
          signal: ctx.signal,
          onProgress: (done, total) => ctx.progress(done, total, 'Predicting'),
        });
      } finally {
        this.changed('runs', 'images');
      }
    });
  }

  async ensembleSummary(input: ParsedInput<'ensembleSummary'>): Promise<RequestOutput<'ensembleSummary'>> {
    return ensembleSummary(this.store().db, input.runs);
  }

  async explainImages(input: ParsedInput<'explainImages'>): Promise<JobInfo<'explain'>> {
    const store = this.store();
    const run = finishedRun(store, input.runId);
    return this.startJob('explain', (ctx) => explainImages(store, this.engine(), run, input, ctx));
  }

  async imageHeatmap(input: ParsedInput<'imageHeatmap'>): Promise<RequestOutput<'imageHeatmap'>> {
    return imageHeatmap(this.store(), this.engine(), finishedRun(this.store(), input.runId), input.imageId, input.className);
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
    return this.engineHost.setting();
  }

  async setEngineSetting(input: ParsedInput<'setEngineSetting'>): Promise<EngineSetting> {
    return this.engineHost.changeSetting(input.engine, () => this.jobs.list().some((j) => j.state === 'running'));
  }

  async testEngine(input: ParsedInput<'testEngine'>): Promise<EngineTestInfo> {
    return this.engineHost.test(input.engine);
  }

  // ---- predictions: evaluation views and label suggestions -------------------------------

  async listPredictions(input: ParsedInput<'listPredictions'>): Promise<RequestOutput<'listPredictions'>> {
    const { runs: members } = input;
    return members !== undefined ? listEnsemblePredictions(this.store().db, { ...input, runs: members }) : predictions.listPredictions(this.store().db, input);
  }

  async acceptSuggestions(input: ParsedInput<'acceptSuggestions'>): Promise<RequestOutput<'acceptSuggestions'>> {
    return this.changedAfter(predictions.acceptSuggestions(this.store().db, input), 'images');
  }

  // ---- models ------------------------------------------------------------------------------

  async listModels(): Promise<InstalledModelInfo[]> {
    return this.models.list();
  }

  /** A request, not a job, that cancelAll stops too (model-import.ts). */
  async importModel(input: ParsedInput<'importModel'>): Promise<InstalledModelInfo> {
    return this.changedAfter(await this.modelImports.run(input, this.hasEngine ? this.validateModel : undefined), 'models');
  }

  /** Cancels every job and every model import in flight (a CLI's Ctrl-C). */
  async cancelAll(): Promise<void> {
    this.modelImports.cancelAll();
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
    return this.changedAfter(this.models.setHidden(input.id, input.hidden), 'models');
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

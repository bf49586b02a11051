/**
 * The run record (runDir/run.json): what the engine writes beside a run's saved model and what
 * prediction, the ONNX export (engine) and the model export (host) read to use it. One type, one
 * parse with its checks for both processes; each side's file read or write is one line around it.
 *
 * Versioned: `version` says which layout a record has. Records written before the field existed
 * (version 1's fields, no `version`, scenario 1's without `classifier`) read as version 1.
 */
import { z } from 'zod';
import { PREPROCESSING_MODES, scenarioSchema, type BackendInfo } from './domain';

export const RUN_RECORD_VERSION = 1;

const fields = {
  version: z.literal(RUN_RECORD_VERSION),
  scenario: scenarioSchema,
  modelId: z.string().min(1),
  /** The pretrained model's folder on the machine that trained (scenario 1's prediction runs its frozen part). */
  modelDir: z.string().min(1),
  cutLayer: z.string().min(1),
  inputSize: z.number().int().positive(),
  /** The input's value range after preprocessing. */
  scaling: z.tuple([z.number(), z.number()]),
  /** The family's preprocessing; runs from before it was recorded are [-1, 1] ('tf'). */
  preprocessing: z.enum(PREPROCESSING_MODES).default('tf'),
  /** The preprocessing version (engine/preprocess.ts) the model was trained with. */
  preprocess: z.string().min(1),
  classNames: z.array(z.string()).min(1),
  /** Values the head reads per image. */
  featureDim: z.number().int().positive(),
  backend: z.custom<BackendInfo>((v) => typeof v === 'object' && v !== null && typeof (v as { name?: unknown }).name === 'string', 'a backend'),
  bestEpoch: z.number().int().positive().nullable(),
  /** 'checkpoint' while a scenario 2-4 run trains (its best epoch so far is saved), then how it ended. */
  state: z.enum(['checkpoint', 'succeeded', 'cancelled']),
  savedAt: z.string(),
};

const runRecordSchema = z.discriminatedUnion('classifier', [
  /** Scenario 1: runDir/head is the trained head on the pretrained part's pooled features. */
  z.object({ ...fields, classifier: z.literal('head'), pool: z.enum(['avg', 'none']) }),
  /** Scenarios 2-4: runDir/model is the whole trained classifier; prediction runs it (no separate head). */
  z.object({ ...fields, classifier: z.literal('model'), freezeTo: z.string().nullable() }),
]);

export type RunRecord = z.infer<typeof runRecordSchema>;
type Stated<R> = R extends unknown ? Omit<R, 'version' | 'savedAt'> : never;
/** What a training run states; the writer adds the version and the time. */
export type RunRecordFields = Stated<RunRecord>;

/** A run.json that cannot be used (the message says what is wrong with it). */
export class RunRecordError extends Error {}

/** The record of `text` (a run.json's content), any version this build knows brought to the current one. */
export function parseRunRecord(text: string): RunRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new RunRecordError('run.json is not valid JSON.');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new RunRecordError('run.json is not an object.');
  const record = raw as Record<string, unknown>;
  const version = record.version ?? RUN_RECORD_VERSION; // records from before the version field
  if (typeof version !== 'number' || version > RUN_RECORD_VERSION)
    throw new RunRecordError(`run.json has layout version ${String(version)}; this version of Transfer Studio reads up to ${RUN_RECORD_VERSION}.`);
  const parsed = runRecordSchema.safeParse({ ...record, version, classifier: record.classifier ?? 'head' });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new RunRecordError(`run.json lacks a usable ${issue?.path.map(String).join('.') || 'value'} (${issue?.message ?? 'invalid'}).`);
  }
  return parsed.data;
}

/** The text of run.json for a run's record. */
export function runRecordText(record: RunRecordFields): string {
  return JSON.stringify({ version: RUN_RECORD_VERSION, ...record, savedAt: new Date().toISOString() }, null, 2);
}

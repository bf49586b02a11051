/**
 * The last-epoch checkpoint of a scenario 2-4 run: runDir/checkpoint holds the whole classifier's
 * weights after the last finished epoch and, in the same atomic folder rename, the loop's state
 * (epoch, metrics so far, best epoch, early-stopping count). A run cancelled or crashed after epoch
 * N resumes at epoch N+1 (job.resume). The optimiser's moments are not kept: Adam restarts its
 * averages at the resumed epoch. runDir/model stays the best epoch's classifier.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { TrainConfig } from '../../shared/domain';
import { folderIOHandler, readModelFolder } from '../../shared/node/model-folder';
import type { LoopState } from './epoch-loop';
import { saveLayersModel } from './model-files';

interface CheckpointFile extends LoopState {
  /** The settings that shape the weights: a checkpoint resumes only the same training. */
  settings: string;
}

const STATE_FILE = 'loop-state.json';

/** Everything of the config but how long to train: more epochs or another patience may resume. */
export function checkpointSettings(config: TrainConfig, extra: Record<string, unknown>): string {
  const { epochs: _epochs, patience: _patience, ...rest } = config;
  return JSON.stringify({ ...rest, ...extra });
}

export function saveCheckpoint(runDir: string, model: tf.LayersModel, state: LoopState, settings: string): Promise<string[]> {
  const file: CheckpointFile = { ...state, settings };
  return saveLayersModel(model, path.join(runDir, 'checkpoint'), { [STATE_FILE]: JSON.stringify(file) });
}

/** The checkpoint's state and weights (in the model's weight order), or null when there is none. */
export async function loadCheckpoint(runDir: string): Promise<{ file: CheckpointFile; weights: tf.Tensor[] } | null> {
  const dir = path.join(runDir, 'checkpoint');
  let file: CheckpointFile;
  try {
    file = JSON.parse(await fs.readFile(path.join(dir, STATE_FILE), 'utf8')) as CheckpointFile;
  } catch {
    return null;
  }
  const saved = await tf.loadLayersModel(folderIOHandler(await readModelFolder(dir)));
  const weights = saved.getWeights().map((w) => w.clone());
  saved.dispose();
  return { file, weights };
}

/** Plain data about models, shared by the engine, its protocol and the host (no TensorFlow.js import). */
export interface LayerInfo {
  index: number;
  name: string;
  className: string;
  /** Without the batch dimension, e.g. [7, 7, 256]. */
  outputShape: number[];
  params: number;
  /**
   * A block boundary where the network can sensibly be cut (features taken, or frozen up to): a
   * block end whose output every path from the input to the model's output crosses.
   */
  cutPoint: boolean;
  /** The layers whose outputs feed this one (empty for an input). Absent: the previous layer (a chain). */
  inbound?: string[];
  /** Which block a cut point ends, in words (e.g. "stage conv3, block 4 (end of the stage)"). */
  block?: string;
}

export interface ModelInspection {
  dir: string;
  name: string;
  format: 'layers-model';
  inputShape: number[];
  outputShape: number[];
  params: number;
  weightBytes: number;
  layers: LayerInfo[];
  /** The layer whose output feeds a new head by default (global pooling when there is one). */
  defaultCutLayer: string;
}


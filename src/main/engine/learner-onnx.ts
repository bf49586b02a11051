/**
 * What trains in scenarios 2-4 on ONNX Runtime: the trainable part and the head as one training
 * graph (onnx/train/train-graph.ts), one session.run per batch; the parameters live in two flat vectors (the
 * network's, updated at the pretrained layers' rate, and the head's) that go into every run, updated
 * by Adam in WebAssembly SIMD (or the JavaScript loop of head-step-onnx.ts) as the head of scenario 1
 * is. The moving statistics of BatchNorm layers that learn from the batch move after each step with
 * the batch statistics the graph returns. The clone's tf variables are written only when asked
 * (writeBack: the best epoch, a checkpoint), so saving, exports and resume read the trained model.
 */
import * as tf from '@tensorflow/tfjs';
import { SessionThread, type NamedTensor } from './onnx/session-thread';
import type { TrainConfig } from '../../shared/domain';
import { batchScore } from './head-step';
import { dropoutMasks, lossTargets, optimizerUpdate, type OptimizerState } from './head-step-onnx';
import { ADAM, adamSimd, type AdamSimd } from './onnx/adam-simd';
import { headParamCount, headParamShapes, type HeadGraphSpec } from './onnx/head-graph';
import { nchwcBlockSize, sessionOptions } from './onnx/runtime';
import { emitEvalStep, emitTrainStep } from './onnx/train/train-graph';
import type { TrainPlan } from './onnx/train/train-plan';

type Provider = Parameters<typeof sessionOptions>[0];

/** A flat parameter vector with its optimiser (Adam in wasm SIMD when it can, else the JS loop). */
class FlatParams {
  readonly values: Float32Array;
  private readonly simd: AdamSimd | null;
  private readonly opt: OptimizerState;

  constructor(
    initial: Float32Array,
    private readonly optimizer: TrainConfig['optimizer'],
    private readonly lr: number,
  ) {
    this.simd = optimizer === 'adam' ? adamSimd(initial.length) : null;
    this.values = this.simd?.flat ?? initial;
    this.values.set(initial);
    const slot = () => new Float32Array(this.simd ? 0 : initial.length);
    this.opt = { t: 0, m: slot(), v: optimizer === 'adam' ? slot() : null };
  }

  update(grad: Float32Array): void {
    if (this.simd) {
      const t = ++this.opt.t;
      this.simd.grad.set(grad);
      this.simd.update(this.lr / (1 - ADAM.beta1 ** t), 1 / Math.sqrt(1 - ADAM.beta2 ** t));
    } else {
      optimizerUpdate(this.values, grad, this.opt, this.optimizer, this.lr);
    }
  }
}

export interface OnnxLearnerInput {
  provider: Provider;
  threads: number;
  plan: TrainPlan;
  head: tf.Sequential;
  config: TrainConfig;
  netLr: number;
  classWeights: Float32Array | null;
  bnMode: 'inference' | 'batch';
  batchSize: number;
  /** Shape of one input row (NHWC image or frozen output). */
  rowShape: number[];
}

export class OnnxLearner {
  private readonly net: FlatParams;
  private readonly headParams: FlatParams;
  private readonly stats: Float32Array;
  private readonly headVars: tf.Variable[];
  private readonly spec: HeadGraphSpec;
  private readonly k: number;
  private train: { batch: number; session: SessionThread; batchStats: boolean } | null = null;

  private constructor(
    private readonly input: OnnxLearnerInput,
    private readonly evalSession: SessionThread,
    /** The CPU's NCHWc block: the step graphs' convolutions run on ONNX Runtime's blocked kernels (0: standard ones). */
    private readonly nchwcBlock: number,
  ) {
    const { plan, head, config } = input;
    this.headVars = head.trainableWeights.map((w) => w.read() as tf.Variable);
    this.spec = OnnxLearner.headSpec(input);
    this.k = this.spec.units[this.spec.units.length - 1] as number;
    const netInit = new Float32Array(plan.paramCount);
    for (const p of plan.params) netInit.set(p.variable.dataSync() as Float32Array, p.offset);
    this.net = new FlatParams(netInit, config.optimizer, input.netLr);
    const headInit = new Float32Array(headParamCount(this.spec.units));
    let offset = 0;
    for (const v of this.headVars) {
      headInit.set(v.dataSync() as Float32Array, offset);
      offset += v.size;
    }
    this.headParams = new FlatParams(headInit, config.optimizer, config.lr);
    this.stats = new Float32Array(plan.statsCount);
    for (const b of plan.batchNorms) {
      this.stats.set(b.mean.dataSync() as Float32Array, b.statsOffset);
      this.stats.set(b.variance.dataSync() as Float32Array, b.statsOffset + b.channels);
    }
  }

  private static headSpec(input: OnnxLearnerInput): HeadGraphSpec {
    const dense = input.head.layers.filter((l) => l.getClassName() === 'Dense');
    const units = [input.plan.outputDim, ...dense.map((l) => (l.getConfig() as { units: number }).units)];
    return { units, activation: input.config.head.activation, dropout: input.config.head.dropout > 0 };
  }

  /** The learner with its sessions; throws OnnxUnsupportedError (a layer without a graph) or ONNX Runtime's refusal. */
  static async create(input: OnnxLearnerInput): Promise<OnnxLearner> {
    const nchwcBlock = input.provider === 'cpu' ? await nchwcBlockSize() : 0;
    const spec = { plan: input.plan, head: OnnxLearner.headSpec(input), bnMode: input.bnMode, batch: null, nchwcBlock };
    const evalSession = await SessionThread.open({ model: emitEvalStep(spec), options: sessionOptions(input.provider, input.threads) });
    const learner = new OnnxLearner(input, evalSession, nchwcBlock);
    try {
      await learner.trainSession(input.batchSize);
    } catch (e) {
      learner.dispose();
      throw e;
    }
    return learner;
  }

  /** The training session for batches of `batch` (a new size replaces the old session and its memory). */
  private async trainSession(batch: number): Promise<{ batch: number; session: SessionThread; batchStats: boolean }> {
    if (this.train?.batch === batch) return this.train;
    if (this.train) await this.train.session.release();
    this.train = null;
    const { model, batchStats } = emitTrainStep({ plan: this.input.plan, head: this.spec, bnMode: this.input.bnMode, batch, nchwcBlock: this.nchwcBlock });
    const session = await SessionThread.open({ model, options: sessionOptions(this.input.provider, this.input.threads) });
    this.train = { batch, session, batchStats };
    return this.train;
  }

  /**
   * The inputs every run takes. The batch's buffer moves to the session's thread; the parameters go
   * as copies (they stay here, where the optimiser updates them while the next batch is prepared).
   */
  private commonFeeds(data: Float32Array, rows: number): Record<string, NamedTensor> {
    const { plan, rowShape } = this.input;
    const feeds: Record<string, NamedTensor> = {
      input: { data, dims: [rows, ...rowShape] },
      net: { data: this.net.values.slice(), dims: [plan.paramCount] },
      flat: { data: this.headParams.values.slice(), dims: [this.headParams.values.length] },
    };
    if (plan.statsCount) feeds['stats'] = { data: this.stats.slice(), dims: [plan.statsCount] };
    return feeds;
  }

  /**
   * One optimisation step. A batch smaller than the session's (the epoch's last) is padded with zero
   * rows of zero loss weight, which add nothing to any gradient while BatchNorm is fixed; with
   * BatchNorm on batch statistics such a batch gets a session of its own size.
   */
  async step(data: Float32Array, y: Int32Array, dropSeed: number): Promise<{ loss: number; correct: number; spent: Float32Array | null }> {
    const { config, rowShape, bnMode } = this.input;
    const n = y.length;
    const current = this.train?.batch ?? n;
    const rows = n > current || bnMode === 'batch' ? n : current;
    const { session, batchStats } = await this.trainSession(rows);
    const rowSize = rowShape.reduce((a, b) => a * b, 1);
    const x = rows === n ? data : new Float32Array(rows * rowSize);
    if (x !== data) x.set(data.subarray(0, n * rowSize));
    // The session runs on its own thread: the next batch is decoded and prepared meanwhile.
    const feeds = this.commonFeeds(x, rows);
    const { rowWeight, target } = lossTargets(y, this.k, this.input.classWeights, rows);
    feeds['rowWeight'] = { data: rowWeight, dims: [rows, 1] };
    feeds['target'] = { data: target, dims: [rows, this.k] };
    const hidden = this.spec.units.slice(1, -1);
    if (this.spec.dropout) dropoutMasks(rows, hidden, config.head.dropout, dropSeed).forEach((m, l) => (feeds[`mask${l}`] = { data: m, dims: [rows, hidden[l] as number] }));
    const { outputs: out, inputs } = await session.runNamed(feeds, ['logp', 'grad', 'gnet', ...(batchStats ? ['batchStats'] : [])]);
    this.net.update((out['gnet'] as NamedTensor).data);
    this.headParams.update((out['grad'] as NamedTensor).data);
    if (batchStats) this.moveStatistics((out['batchStats'] as NamedTensor).data);
    const logp = (out['logp'] as NamedTensor).data.subarray(0, n * this.k);
    // The batch's buffer, back from the session's thread for the next batch to be written into.
    return { ...batchScore(logp, y, this.k, this.input.classWeights), spent: inputs['input'] ?? null };
  }

  /** moving = moving * momentum + batch * (1 - momentum), as trainable-net.ts' commitStatistics. */
  private moveStatistics(batch: Float32Array): void {
    for (const b of this.input.plan.batchNorms) {
      const m = b.momentum;
      for (let i = b.statsOffset; i < b.statsOffset + 2 * b.channels; i++) this.stats[i] = (this.stats[i] as number) * m + (batch[i] as number) * (1 - m);
    }
  }

  /** After a failed step (out of memory): the session and its memory go; the next batch sets the size. */
  abandonStep(): void {
    void this.train?.session.release().catch(() => undefined);
    this.train = null;
  }

  /** Summed loss and the predicted class of every image of a batch, BatchNorm on its moving statistics, no dropout. */
  async evaluate(data: Float32Array, y: Int32Array): Promise<{ lossSum: number; predicted: Int32Array }> {
    const { outputs: out } = await this.evalSession.runNamed(this.commonFeeds(data, y.length), ['logp']);
    const logp = (out['logp'] as NamedTensor).data;
    const k = this.k;
    const predicted = new Int32Array(y.length);
    let lossSum = 0;
    for (let i = 0; i < y.length; i++) {
      let best = 0;
      for (let c = 1; c < k; c++) if ((logp[i * k + c] as number) > (logp[i * k + best] as number)) best = c;
      predicted[i] = best;
      lossSum -= logp[i * k + (y[i] as number)] as number;
    }
    return { lossSum, predicted };
  }

  /** Writes the trained parameters (and moved statistics) into the model's variables. */
  writeBack(): void {
    const { plan } = this.input;
    tf.tidy(() => {
      for (const p of plan.params) p.variable.assign(tf.tensor(this.net.values.slice(p.offset, p.offset + p.variable.size), p.variable.shape));
      let offset = 0;
      const shapes = headParamShapes(this.spec.units);
      this.headVars.forEach((v, i) => {
        v.assign(tf.tensor(this.headParams.values.slice(offset, offset + v.size), shapes[i]));
        offset += v.size;
      });
      if (this.input.bnMode === 'batch') {
        for (const b of plan.batchNorms) {
          b.mean.assign(tf.tensor(this.stats.slice(b.statsOffset, b.statsOffset + b.channels)));
          b.variance.assign(tf.tensor(this.stats.slice(b.statsOffset + b.channels, b.statsOffset + 2 * b.channels)));
        }
      }
    });
  }

  dispose(): void {
    void this.evalSession.release().catch(() => undefined);
    void this.train?.session.release().catch(() => undefined);
    this.train = null;
  }
}

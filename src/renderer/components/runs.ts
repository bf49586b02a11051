/** How a run is named on every screen: its scenario's title and explanation, its state's colour, its backend. */
import { inferenceLabel, type BackendInfo, type RunState, type Scenario } from '../../shared/domain';

export const SCENARIOS: Record<Scenario, { title: string; short: string; what: string }> = {
  1: {
    title: '1 · Feature extraction',
    short: 'small data, similar images',
    what: 'The pretrained network stays frozen and only a new classification head is trained on its features: fast, and hard to overfit.',
  },
  2: {
    title: '2 · Freeze the first k layers',
    short: 'small data, different images',
    what: 'The first k layers (generic edges and textures) stay frozen; the later, more specific layers and a new head are retrained for your images.',
  },
  3: {
    title: '3 · Train from scratch',
    short: 'large data, different images',
    what: 'The same architecture is trained from random weights: with enough images, pretrained features that do not fit your domain only get in the way.',
  },
  4: {
    title: '4 · Fine-tune everything',
    short: 'large data, similar images',
    what: 'Every layer starts from the pretrained weights and keeps learning with a small learning rate, so the good features are adjusted rather than destroyed.',
  },
};

export const STATE_COLOR: Record<RunState, string> = { running: 'blue', succeeded: 'green', failed: 'red', cancelled: 'gray' };

export function backendLabel(b: BackendInfo | null | undefined): string {
  if (!b) return 'unknown';
  const names: Record<BackendInfo['name'], string> = { 'tensorflow-gpu': 'TensorFlow GPU', tensorflow: 'TensorFlow (native)', wasm: 'WebAssembly', cpu: 'plain JavaScript (slow)' };
  const tfjs = `${names[b.name]}${b.name === 'wasm' ? ` · SIMD ${b.simd ? 'on' : 'off'} · ${b.threads} thread${b.threads === 1 ? '' : 's'}` : ''}`;
  const training = b.training?.runtime === 'onnxruntime' ? `trained on ${inferenceLabel(b.training)}` : tfjs;
  const where = b.server ? ` · on ${b.server.hostname} over SSH` : '';
  return `${b.inference ? `${training} · frozen part: ${inferenceLabel(b.inference)}` : training}${where}`;
}

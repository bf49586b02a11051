// Runs an exported ONNX model the way a user of the export would: plain Node, onnxruntime-node and
// sharp in a fresh process, nothing of the app. Images are decoded as preprocessing.json says.
// Usage: node plain-onnx-predict.mjs MODEL_DIR IMAGE...   -> JSON { labels, predictions: [{ file, probabilities }] }
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { modelInput } from './plain-input.mjs';

const [dir, ...images] = process.argv.slice(2);
const labels = JSON.parse(fs.readFileSync(path.join(dir, 'labels.json'), 'utf8'));
const pre = JSON.parse(fs.readFileSync(path.join(dir, 'preprocessing.json'), 'utf8'));
const session = await ort.InferenceSession.create(path.join(dir, 'model.onnx'));
const size = pre.inputSize;

const predictions = [];
for (const file of images) {
  const { output } = await session.run({ input: new ort.Tensor('float32', await modelInput(file, pre), [1, size, size, 3]) });
  predictions.push({ file, probabilities: Array.from(output.data), dims: output.dims });
}
process.stdout.write(JSON.stringify({ labels, predictions }) + '\n');

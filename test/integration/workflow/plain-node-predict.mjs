// Loads an exported model the way a user of the export would: plain Node, @tensorflow/tfjs on the
// pure JS cpu backend and sharp, nothing of the app. Images are decoded as preprocessing.json says.
// Usage: node plain-node-predict.mjs MODEL_DIR IMAGE...   -> JSON { labels, predictions: [{ file, probabilities }] }
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { modelInput } from './plain-input.mjs';

const [dir, ...images] = process.argv.slice(2);
await tf.setBackend('cpu');
const labels = JSON.parse(fs.readFileSync(path.join(dir, 'labels.json'), 'utf8'));
const pre = JSON.parse(fs.readFileSync(path.join(dir, 'preprocessing.json'), 'utf8'));

// tfjs without tfjs-node has no file:// loader: hand it model.json and its shards from disk.
const modelJson = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
const shards = modelJson.weightsManifest.flatMap((g) => g.paths).map((p) => fs.readFileSync(path.join(dir, p)));
const weightData = new Uint8Array(Buffer.concat(shards)).buffer;
const model = await tf.loadLayersModel(
  tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs: modelJson.weightsManifest.flatMap((g) => g.weights), weightData }),
);

const size = pre.inputSize;

const predictions = [];
for (const file of images) {
  const x = tf.tensor4d(await modelInput(file, pre), [1, size, size, 3]);
  const y = model.predict(x);
  predictions.push({ file, probabilities: Array.from(await y.data()) });
  tf.dispose([x, y]);
}
process.stdout.write(JSON.stringify({ labels, predictions }) + '\n');

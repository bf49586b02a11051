/** `transfer-studio models list | import FOLDER` (added to the table in cli.ts). */
import type { Command } from '../cli';

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;

export const modelCommands: Command[] = [
  {
    name: 'models list',
    args: '',
    summary: 'Models installed on this machine (imported or downloaded).',
    positionals: { required: [] },
    async run({ studio }) {
      const models = await studio.call('listModels', {});
      const text = models.length
        ? models.map((m) => `${m.id.padEnd(32)} ${String(m.layers).padStart(4)} layers  ${mb(m.weightBytes).padStart(9)}  ${m.source} ${m.origin}`).join('\n')
        : 'No models installed. Import a TensorFlow.js LayersModel folder with: transfer-studio models import FOLDER';
      return { json: { models }, text };
    },
  },
  {
    name: 'models import',
    args: 'FOLDER [--id ID] [--replace]',
    summary: 'Validate a TensorFlow.js LayersModel folder (model.json + shards) and install it.',
    options: { id: { type: 'string' }, replace: { type: 'boolean' } },
    positionals: { required: ['FOLDER'] },
    async run({ studio, args, values }) {
      const model = await studio.call('importModel', {
        dir: args[0]!,
        ...(typeof values.id === 'string' ? { id: values.id } : {}),
        replace: values.replace === true,
      });
      return { json: { model }, text: `Installed model "${model.id}" (${model.name}, ${model.layers} layers, ${mb(model.weightBytes)})` };
    },
  },
];

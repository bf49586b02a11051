/** `transfer-studio models list | import FOLDER | download NAME` (added to the table in cli.ts). */
import type { Command } from './command';
import { waitForJob } from './jobs';

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;

export const modelCommands: Command[] = [
  {
    name: 'models list',
    args: '',
    summary: 'Models installed on this machine (imported or downloaded), and the catalog models that can be downloaded.',
    positionals: { required: [] },
    async run({ studio }) {
      const models = await studio.call('listModels', {});
      const catalog = await studio.call('listCatalog', {});
      const lines = models.length
        ? models.map((m) => `${m.id.padEnd(32)} ${String(m.layers).padStart(4)} layers  ${mb(m.weightBytes).padStart(9)}  ${m.source} ${m.origin}`)
        : ['No models installed. Import a TensorFlow.js LayersModel folder with: transfer-studio models import FOLDER'];
      const available = catalog.filter((c) => !c.installed);
      if (available.length) {
        lines.push('', 'In the catalog (transfer-studio models download NAME):');
        for (const c of available) lines.push(`${c.id.padEnd(32)} ${(c.sizeBytes === null ? '' : mb(c.sizeBytes)).padStart(9)}  ${c.publisher}, ${c.licence}`);
      }
      return { json: { models, catalog }, text: lines.join('\n') };
    },
  },
  {
    name: 'models import',
    args: 'FOLDER [--id ID] [--force]',
    summary: 'Validate a TensorFlow.js LayersModel folder (model.json + shards) and install it (--force replaces an installed model of that id).',
    // --force as in export and models download; --replace is kept for scripts written before.
    options: { id: { type: 'string' }, force: { type: 'boolean' }, replace: { type: 'boolean' } },
    positionals: { required: ['FOLDER'] },
    async run({ studio, args, values }) {
      const model = await studio.call('importModel', {
        dir: args[0]!,
        ...(typeof values.id === 'string' ? { id: values.id } : {}),
        replace: values.force === true || values.replace === true,
      });
      return { json: { model }, text: `Installed model "${model.id}" (${model.name}, ${model.layers} layers, ${mb(model.weightBytes)})` };
    },
  },
  {
    name: 'models download',
    args: 'NAME [--force]',
    summary: 'Download a catalog model (verified) into this machine\'s models; an installed copy is reused unless --force.',
    options: { force: { type: 'boolean' } },
    positionals: { required: ['NAME'] },
    async run({ studio, args, values }) {
      const job = await studio.call('downloadModel', { id: args[0]!, force: values.force === true });
      const { model, cached } = await waitForJob(studio, job);
      const text = cached ? `"${model.id}" is already installed (use --force to download it again)` : `Downloaded and installed "${model.id}" (${model.layers} layers, ${mb(model.weightBytes)}) from ${model.origin}`;
      return { json: { model, cached }, text };
    },
  },
];

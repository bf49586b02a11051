/** `transfer-studio models list | import PATH | hide NAME | download NAME` (added to the table in cli/index.ts). */
import type { PreprocessingMode } from '../../shared/domain';
import type { Command } from './command';
import { waitForJob } from './jobs';

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;

export const modelCommands: Command[] = [
  {
    name: 'models list',
    args: '',
    summary: 'Models on this machine (the built-in one first, then those imported or downloaded), and the catalog models that can be downloaded.',
    positionals: { required: [] },
    async run({ studio }) {
      const models = await studio.call('listModels', {});
      const catalog = await studio.call('listCatalog', {});
      const lines = models.length
        ? models.map(
            (m) =>
              `${m.id.padEnd(32)} ${String(m.layers).padStart(4)} layers  ${m.params ? `${(m.params / 1e6).toFixed(1)}M params  ` : ''}${mb(m.weightBytes).padStart(9)}  ` +
              `${m.inputSize ? `${m.inputSize}px ` : ''}${m.preprocessing ?? 'tf'}  ${m.format ?? 'tfjs'}  ${m.source}${m.hidden ? ' (hidden)' : ''} ${m.origin}` +
              (m.teachable ? `\n${''.padEnd(33)}Teachable Machine ${m.teachable.version} export, its own classes: ${m.teachable.labels.join(', ')}` : ''),
          )
        : ['No models installed. Import a TensorFlow.js folder or a Keras file with: transfer-studio models import PATH'];
      const available = catalog.filter((c) => !c.installed);
      if (available.length) {
        lines.push('', 'In the catalog (transfer-studio models download NAME):');
        for (const c of available) {
          const size = c.sizeBytes === null ? '' : `${c.sizeExact ? '' : '~'}${mb(c.sizeBytes)}`;
          const top1 = c.top1 === null ? '' : `top-1 ${(c.top1 * 100).toFixed(1)}%`;
          lines.push(`${c.id.padEnd(32)} ${size.padStart(10)}  ${c.preprocessing.padEnd(5)} ${top1.padEnd(13)} ${c.publisher}, ${c.licence}`);
        }
      }
      return { json: { models, catalog }, text: lines.join('\n') };
    },
  },
  {
    name: 'models import',
    args: 'PATH [--id ID] [--force] [--preprocessing tf|caffe|raw]',
    summary:
      'Validate and install a model: a TensorFlow.js LayersModel folder, or a Keras file (.h5 from model.save, .keras, or a weights-only .h5 of VGG16, ResNet50, MobileNetV2 or EfficientNetB0). --force replaces an installed model of that id; --preprocessing overrides the input preprocessing (default: the architecture\'s, else tf = [-1, 1]).',
    // --force as in export and models download; --replace is kept for scripts written before.
    options: { id: { type: 'string' }, force: { type: 'boolean' }, replace: { type: 'boolean' }, preprocessing: { type: 'string' } },
    positionals: { required: ['PATH'] },
    async run({ studio, args, values }) {
      const pre = values.preprocessing; // checked by the request's schema (tf, caffe or raw)
      const model = await studio.call('importModel', {
        dir: args[0]!,
        ...(typeof values.id === 'string' ? { id: values.id } : {}),
        replace: values.force === true || values.replace === true,
        ...(typeof pre === 'string' ? { preprocessing: pre as PreprocessingMode } : {}),
      });
      const what = model.architecture ? `${model.architecture}, ` : '';
      return { json: { model }, text: `Installed model "${model.id}" (${model.name}, ${what}${model.layers} layers, ${mb(model.weightBytes)}, preprocessing ${model.preprocessing ?? 'tf'})` };
    },
  },
  {
    name: 'models hide',
    args: 'NAME [--show]',
    summary: 'Hide a model from the pickers and defaults (a built-in model cannot be deleted, it can be hidden); --show shows it again.',
    options: { show: { type: 'boolean' } },
    positionals: { required: ['NAME'] },
    async run({ studio, args, values }) {
      const model = await studio.call('setModelHidden', { id: args[0]!, hidden: values.show !== true });
      return { json: { model }, text: `"${model.id}" is ${model.hidden ? 'hidden' : 'shown'}.` };
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

/**
 * `transfer-studio explain` (added to the table in index.ts): Grad-CAM overlays and peaks.csv of a
 * split's images or of one image file with a finished run, as an explain job (progress, Ctrl-C
 * cancels; nothing half-written is left in --out).
 */
import { StudioError } from '../../shared/errors';
import type { Command } from './command';
import { waitForJob } from './jobs';
import { runOption, stringOption } from './options';

export const explainCommands: Command[] = [
  {
    name: 'explain',
    args: 'DIR --run ID (--image PATH | --split val|test) --out FOLDER [--class NAME]',
    summary: 'Grad-CAM heatmaps of a run: an overlay PNG per image and peaks.csv (path,class,peak_x,peak_y) in a new or empty folder.',
    options: { run: { type: 'string' }, image: { type: 'string' }, split: { type: 'string' }, out: { type: 'string' }, class: { type: 'string' } },
    positionals: { required: ['DIR'] },
    async run({ studio, args, values }) {
      const runId = runOption(values.run);
      if (runId === undefined) throw new StudioError('bad_request', 'missing --run ID (the run whose model is explained).', 'run');
      const image = stringOption(values.image);
      const split = stringOption(values.split);
      if ((image === undefined) === (split === undefined)) throw new StudioError('bad_request', 'give either --image PATH or --split val|test.', image === undefined ? 'split' : 'image');
      if (split !== undefined && split !== 'val' && split !== 'test') throw new StudioError('bad_request', `--split must be val or test, not ${split}.`, 'split');
      const out = stringOption(values.out);
      if (out === undefined) throw new StudioError('bad_request', 'missing --out FOLDER (a new or empty folder for the overlays and peaks.csv).', 'out');
      const className = stringOption(values.class);
      await studio.call('openProject', { dir: args[0]! });
      const summary = await waitForJob(
        studio,
        await studio.call('explainImages', {
          runId,
          out,
          ...(split !== undefined ? { split } : { imagePaths: [image!] }),
          ...(className !== undefined ? { className } : {}),
        }),
      );
      const what = summary.className ? `class ${summary.className}` : 'the predicted class';
      const text = [
        `Explained ${summary.written} image(s) with run ${summary.runId} (${what}, feature map of ${summary.layer})${summary.failed.length ? `; ${summary.failed.length} could not be read (e.g. ${summary.failed[0]})` : ''}`,
        `Overlays and ${summary.peaksCsv} in ${summary.out}`,
      ].join('\n');
      return { json: { explain: summary }, text };
    },
  },
];

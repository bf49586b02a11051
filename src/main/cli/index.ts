#!/usr/bin/env node
/**
 * transfer-studio: the Studio from a terminal, a third client of the same contract.
 * Every command takes --json (one JSON object on stdout at the end, progress on stderr),
 * draws a progress bar on a TTY, and exits 0 on success, 2 on bad input, 1 on failure.
 */
import { parseArgs } from 'node:util';
import path from 'node:path';
import fs from 'node:fs';
import { StudioError, type ErrorCode } from '../../shared/errors';
import { printable } from '../../shared/names';
import { Studio } from '../host/studio';
import { defaultUserDataDir, rendererDir } from '../host/paths';
import { startServer } from '../host/server';
import { studioEngine } from '../host/engine';
import { forkEngine } from '../training/engine-client';
import type { Command, Values } from './command';
import { waitForJob } from './jobs';
import { mediaCommands } from './media';
import { exportCommands } from './export';
import { modelCommands } from './models';
import { trainingCommands } from './training';
import { sweepCommands } from './sweep';
import { auditCommands } from './audit';
import { explainCommands } from './explain';
import { engineCommands } from './engine';
import { runBundleCommands } from './run-bundle';
import { stringOption } from './options';

const BAD_INPUT: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'bad_request',
  'unknown_request',
  'no_project',
  'not_found',
  'not_a_project',
  'not_empty',
  'newer_schema',
  'corrupt_database',
  'read_only',
  'conflict',
  'bad_model',
  'bad_input',
]);

class UsageError extends Error {}

// ---- helpers shared by commands ----------------------------------------------------------------

/**
 * A request's schema error about a field that a flag of the command sets, phrased with the flag
 * ("importImages: split: Invalid option ..." becomes "--split: Invalid option ...").
 */
function withFlag(e: StudioError, command: Command): StudioError {
  const m = e.code === 'bad_request' && e.field && command.options?.[e.field] ? /^\w+: [\w.]+: (.*)$/s.exec(e.message) : null;
  return m ? new StudioError('bad_request', `--${e.field}: ${m[1]}`, e.field) : e;
}

function projectText(info: Awaited<ReturnType<Studio['projectInfo']>>): string {
  const lines = [
    `${info.name}  (${info.dir})`,
    `schema ${info.schemaVersion}, created ${info.createdAt}, ${info.runs} run(s)`,
    `images: ${info.counts.total} (train ${info.counts.bySplit.train}, val ${info.counts.bySplit.val}, test ${info.counts.bySplit.test}), unlabelled ${info.counts.unlabelled}`,
  ];
  for (const c of info.counts.byClass) lines.push(`  ${c.name.padEnd(24)} ${String(c.total).padStart(7)}  train ${c.train}  val ${c.val}  test ${c.test}`);
  if (info.counts.byClass.length === 0) lines.push('  no classes yet');
  return lines.join('\n');
}

// ---- the commands ------------------------------------------------------------------------------

export const commands: Command[] = [
  {
    name: 'project create',
    args: 'DIR [--name NAME] [--classes-from MODEL]',
    summary: 'Create a project folder (project.sqlite and the project files). --classes-from: start its classes from a Teachable Machine model\'s labels.',
    options: { name: { type: 'string' }, 'classes-from': { type: 'string' } },
    positionals: { required: ['DIR'] },
    async run({ studio, args, values }) {
      const info = await studio.call('createProject', { dir: args[0]!, ...(typeof values.name === 'string' ? { name: values.name } : {}) });
      const from = values['classes-from'];
      if (typeof from !== 'string') return { json: { project: info }, text: `Created project "${info.name}" in ${info.dir}` };
      const classes = await studio.call('addClassesFromModel', { model: from });
      return { json: { project: info, classes }, text: `Created project "${info.name}" in ${info.dir} with the classes of "${from}": ${classes.map((c) => c.name).join(', ')}` };
    },
  },
  {
    name: 'project info',
    args: 'DIR',
    summary: 'Counts per class and split, runs, schema version.',
    positionals: { required: ['DIR'] },
    async run({ studio, args }) {
      const info = await studio.call('openProject', { dir: args[0]! });
      return { json: { project: info }, text: projectText(info) };
    },
  },
  {
    name: 'project check',
    args: 'DIR',
    summary: 'Check the database and that every image file is still in place.',
    positionals: { required: ['DIR'] },
    async run({ studio, args }) {
      await studio.call('openProject', { dir: args[0]! });
      const result = await waitForJob(studio, await studio.call('checkProject', {}));
      return { json: { check: result }, text: `database: ${result.integrity}; images: ${result.images}; missing files: ${result.missingFiles}` };
    },
  },
  ...mediaCommands,
  ...modelCommands,
  ...trainingCommands,
  ...sweepCommands,
  ...auditCommands,
  ...explainCommands,
  ...exportCommands,
  ...engineCommands,
  ...runBundleCommands,
  {
    name: 'serve',
    args: '[DIR] [--port N]',
    summary: 'Browser mode: serve the studio on 127.0.0.1 and print its address with the token.',
    options: { port: { type: 'string' } },
    positionals: { required: [], optional: ['DIR'] },
    async run({ studio, args, values, json }) {
      const port = values.port === undefined ? 0 : Number(values.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a port number, not ${String(values.port)}`);
      if (args[0]) await studio.call('openProject', { dir: args[0] });
      const dir = rendererDir();
      if (!fs.existsSync(path.join(dir, 'index.html'))) throw new StudioError('internal', `The UI is not built (${dir}); run npm run build first.`);
      const server = await startServer({ studio, rendererDir: dir, port });
      // The address must be known while serving, so --json prints it at once (the e2e harness reads this first line).
      if (json) process.stdout.write(JSON.stringify({ ok: true, url: server.url, port: server.port }) + '\n');
      else process.stdout.write(`Transfer Studio is running in browser mode at ${server.url}\n(Ctrl-C stops it.)\n`);
      await new Promise<void>((resolve) => {
        const stop = (): void => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await server.close();
      return { json: null, text: '' };
    },
  },
];

function usage(): string {
  // Long synopses go on a line of their own, the summary indented under them.
  const listed = commands.filter((c) => !c.hidden);
  const width = Math.min(48, Math.max(...listed.map((c) => `${c.name} ${c.args}`.length)));
  const line = (c: Command): string => {
    const head = `${c.name} ${c.args}`;
    return head.length <= width ? `  ${head.padEnd(width)}  ${c.summary}` : `  ${head}\n  ${''.padEnd(width)}  ${c.summary}`;
  };
  return [
    'Usage: transfer-studio <command> [options]   (every command takes --json and --help)',
    '',
    ...listed.map(line),
    '',
    'Exit codes: 0 success, 2 bad input, 1 failure.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const words = argv.filter((a) => !a.startsWith('-'));
  const command = commands
    .filter((c) => c.name.split(' ').every((w, i) => words[i] === w))
    .sort((a, b) => b.name.length - a.name.length)[0];
  const wantsJson = argv.includes('--json');
  const fail = (code: number, error: { code: string; message: string }): number => {
    if (wantsJson) process.stdout.write(JSON.stringify({ ok: false, error }) + '\n');
    process.stderr.write(printable(`transfer-studio: ${error.message}\n`));
    return code;
  };
  if (!command) {
    if (argv.length === 0 || argv.includes('--help') || argv.includes('-h')) {
      process.stdout.write(usage() + '\n');
      return argv.length === 0 ? 2 : 0;
    }
    return fail(2, { code: 'bad_request', message: `unknown command "${words.join(' ')}".\n${usage()}` });
  }
  let studio: Studio | undefined;
  // SIGINT and SIGTERM end a command cleanly: its jobs and a model import are cancelled, it
  // returns, and the finally below disposes the Studio (engine stopped, database closed). A
  // second signal exits at once.
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) process.exit(signal === 'SIGINT' ? 130 : 143);
    signalled = true;
    void studio?.cancelAll();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: { ...command.options, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help) {
      process.stdout.write(`Usage: transfer-studio ${command.name} ${command.args}\n${command.summary}\n`);
      return 0;
    }
    const args = positionals.slice(command.name.split(' ').length);
    const { required, optional = [] } = command.positionals;
    if (args.length < required.length) throw new UsageError(`missing ${required.slice(args.length).join(', ')}. Usage: transfer-studio ${command.name} ${command.args}`);
    if (args.length > required.length + optional.length) throw new UsageError(`unexpected argument "${args[required.length + optional.length]}".`);
    if (command.standalone) return await command.standalone({ args, values: values as Values });
    // The engine: --engine, else TRANSFER_STUDIO_ENGINE, else the saved setting (the UI's "Train
    // on"), else a process of this machine. A bad --engine address is refused at once (exit 2).
    const setting = stringOption((values as Values).engine) ?? process.env['TRANSFER_STUDIO_ENGINE'];
    if (setting !== undefined && command.options?.['engine']) studioEngine(setting, () => forkEngine());
    studio = new Studio({
      userDataDir: defaultUserDataDir(),
      mode: command.name === 'serve' ? 'browser' : 'cli',
      engineFor: (s, start) => studioEngine(s, () => forkEngine({ start })),
      ...(setting !== undefined ? { engineSetting: setting } : {}),
    });
    const out = await command.run({ studio, args, values: values as Values, json: Boolean(values.json) });
    if (values.json && out.json) process.stdout.write(JSON.stringify({ ok: true, ...out.json }) + '\n');
    else if (out.text) process.stdout.write(printable(out.text) + '\n');
    return 0;
  } catch (err) {
    if (err instanceof UsageError || (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS')))
      return fail(2, { code: 'bad_request', message: err.message });
    const e = withFlag(StudioError.from(err), command);
    return fail(BAD_INPUT.has(e.code) ? 2 : 1, e.toJSON());
  } finally {
    await studio?.dispose();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

const invokedDirectly = process.argv[1] !== undefined && /cli(\.|[\\/]index\.)(ts|js|mjs)$/.test(process.argv[1]);
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (err: unknown) => {
      process.stderr.write(`transfer-studio: ${String(err)}\n`);
      process.exitCode = 1;
    },
  );
}

/**
 * A script started on its own (the engine process, the ONNX Runtime session thread): the built
 * `NAME.js` beside the calling bundle in production (electron-vite emits each as an entry of
 * out/main; the caller may sit in out/main/chunks/), else its TypeScript source run through tsx
 * (tests, `npm run cli`).
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** `callerUrl`: the caller's import.meta.url; `source`: the .ts file, relative to the caller's folder. */
export function entryScript(name: string, callerUrl: string, source: string): { entry: string; execArgv: string[] } {
  const here = path.dirname(fileURLToPath(callerUrl));
  const js = [path.join(here, `${name}.js`), path.join(here, '..', `${name}.js`)].find((f) => fs.existsSync(f));
  if (js) return { entry: js, execArgv: [] };
  // tsx by its resolved location: a bare `--import tsx` resolves from the working folder, which may be anywhere.
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return { entry: path.join(here, source), execArgv: ['--import', tsx] };
}

/**
 * A worker thread running the script `name` (see entryScript). From source, a worker does not
 * inherit the process's `--import tsx` loader (Node 20), so a two-line bootstrap registers tsx in
 * the worker first and then imports the .ts file.
 */
export function startWorker(name: string, callerUrl: string, source: string, options: WorkerOptions): Worker {
  const { entry, execArgv } = entryScript(name, callerUrl, source);
  if (!execArgv.length) return new Worker(entry, options);
  const api = import.meta.resolve('tsx/esm/api'); // the ESM entry (require would pick the CommonJS one)
  const bootstrap = `import(${JSON.stringify(api)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(pathToFileURL(entry).href)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}

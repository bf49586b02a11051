/**
 * No import cycles in src/: every relative import (static, type-only, re-export, dynamic) of every
 * .ts/.tsx file is an edge, and a depth-first walk fails on any edge back into the current path.
 * TypeScript's own preProcessFile reads the imports, so comments and strings never count.
 * The same walk runs on folders: a file's import is an edge between the folders of the two files
 * (src/main/engine -> src/shared, src/main/engine/frozen -> src/main/engine), so two folders that
 * lean on each other (a parent and its subfolder too) fail as a cycle.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

const SRC = path.resolve(__dirname, '../../src');
const EXTS = ['.ts', '.tsx'];

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return EXTS.includes(path.extname(e.name)) && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** The file a relative specifier names ('./x', './x.js', './dir' -> dir/index.ts), or null. */
function resolve(from: string, spec: string): string | null {
  const base = path.resolve(path.dirname(from), spec).replace(/\.(m?js|jsx)$/, '');
  const candidates = [base, ...EXTS.map((e) => base + e), ...EXTS.map((e) => path.join(base, 'index' + e))];
  return candidates.find((c) => fs.existsSync(c) && fs.statSync(c).isFile() && EXTS.includes(path.extname(c))) ?? null;
}

function importGraph(root: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(root)) {
    const info = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
    const deps = info.importedFiles.map((f) => f.fileName).filter((s) => s.startsWith('.'));
    graph.set(file, [...new Set(deps.map((s) => resolve(file, s)).filter((f): f is string => f !== null))]);
  }
  return graph;
}

/** Every cycle the walk meets, each as the files of the loop (first file repeated at the end). */
function findCycles(graph: Map<string, string[]>): string[][] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    stack.push(file);
    for (const dep of graph.get(file) ?? []) {
      const s = state.get(dep);
      if (s === 'open') cycles.push([...stack.slice(stack.indexOf(dep)), dep]);
      else if (s === undefined) visit(dep);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of [...graph.keys()].sort()) if (!state.has(file)) visit(file);
  return cycles;
}

/** The import graph between folders: an edge for every import from a file in one folder to a file in another. */
function folderGraph(files: Map<string, string[]>): Map<string, string[]> {
  const graph = new Map<string, Set<string>>();
  for (const [file, deps] of files) {
    const from = path.dirname(file);
    if (!graph.has(from)) graph.set(from, new Set());
    for (const dep of deps) if (path.dirname(dep) !== from) graph.get(from)!.add(path.dirname(dep));
  }
  return new Map([...graph].map(([dir, deps]) => [dir, [...deps].sort()]));
}

/**
 * Folder edges allowed for now, each with the reason and the files that make it; the test fails
 * when one is no longer needed, so the list only shrinks.
 */
const PENDING_FOLDER_EDGES: { from: string; to: string; why: string }[] = [];

const tmpDirs: string[] = [];
afterAll(() => tmpDirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

describe('imports', () => {
  it('the walk finds a cycle through a type-only import, a re-export and a folder index', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ts-cycles-'));
    tmpDirs.push(dir);
    fs.mkdirSync(path.join(dir, 'c'));
    fs.writeFileSync(path.join(dir, 'a.ts'), "// import { x } from './nothing';\nimport type { B } from './b.js';\nexport const a = 1;\n");
    fs.writeFileSync(path.join(dir, 'b.ts'), "export { c } from './c';\nexport type B = 1;\n");
    fs.writeFileSync(path.join(dir, 'c', 'index.ts'), "export const c = async () => import('../a');\n");
    fs.writeFileSync(path.join(dir, 'd.ts'), "import { a } from './a';\nexport const d = a;\n");
    const cycles = findCycles(importGraph(dir)).map((c) => c.map((f) => path.relative(dir, f)));
    expect(cycles).toEqual([['a.ts', 'b.ts', path.join('c', 'index.ts'), 'a.ts']]);
  });

  it('the folder walk finds two folders that import each other, through a subfolder too', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ts-folder-cycles-'));
    tmpDirs.push(dir);
    for (const d of ['engine/onnx', 'host', 'common']) fs.mkdirSync(path.join(dir, d), { recursive: true });
    fs.writeFileSync(path.join(dir, 'common', 'types.ts'), 'export type T = 1;\n');
    fs.writeFileSync(path.join(dir, 'host', 'paths.ts'), "import type { T } from '../common/types';\nexport const home = (t: T) => t;\n");
    fs.writeFileSync(path.join(dir, 'engine', 'protocol.ts'), "import type { T } from '../common/types';\nexport type P = T;\n");
    fs.writeFileSync(path.join(dir, 'engine', 'onnx', 'cache.ts'), "import { home } from '../../host/paths';\nexport const c = home;\n");
    fs.writeFileSync(path.join(dir, 'host', 'studio.ts'), "import type { P } from '../engine/protocol';\nexport type S = P;\n");
    fs.writeFileSync(path.join(dir, 'engine', 'forward.ts'), "import { c } from './onnx/cache';\nexport const f = c;\n");
    const graph = importGraph(dir);
    expect(findCycles(graph)).toEqual([]); // no cycle between files
    const cycles = findCycles(folderGraph(graph)).map((c) => c.map((f) => path.relative(dir, f)));
    expect(cycles).toEqual([['engine', path.join('engine', 'onnx'), 'host', 'engine']]);
  });

  it('src/ has no import cycles between folders', () => {
    const graph = folderGraph(importGraph(SRC));
    const rel = (d: string) => path.relative(SRC, d).split(path.sep).join('/');
    const pending = PENDING_FOLDER_EDGES.map((e) => {
      const from = path.join(SRC, e.from);
      const found = graph.get(from)?.includes(path.join(SRC, e.to)) ?? false;
      if (found) graph.set(from, graph.get(from)!.filter((d) => d !== path.join(SRC, e.to)));
      return { ...e, found };
    });
    expect(pending.filter((e) => !e.found).map((e) => `${e.from} -> ${e.to} is gone: take it off PENDING_FOLDER_EDGES`)).toEqual([]);
    expect(findCycles(graph).map((c) => c.map(rel).join(' -> '))).toEqual([]);
  });

  it('src/ has no import cycles', () => {
    const cycles = findCycles(importGraph(SRC)).map((c) => c.map((f) => path.relative(SRC, f)).join(' -> '));
    expect(cycles).toEqual([]);
  });
});

import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The renderer never imports main, and shared imports neither (DESIGN.md). src/shared/node/ holds
// the Node-only helpers that the host and the engine process share: the renderer and the preload
// never import it, and the rest of src/shared does not either (the renderer imports all of that).
const SHARED_NODE = { regex: '(^|/)shared/node(/|$)', message: 'src/shared/node/ is Node-only: the renderer and the preload cannot import it.' };
const RENDERER_BANNED = ['**/main/**', 'electron', 'node:*', '@tensorflow/*', 'onnxruntime-*'];
const FEATURES = 'src/renderer/features';
const ENGINE = 'src/main/engine';
const NO_ML_RUNTIME = { group: ['@tensorflow/*', 'onnxruntime-*'], allowTypeImports: true, message: 'Only src/main/engine/ (the engine process) loads TensorFlow.js or ONNX Runtime.' };
const ENGINE_PROTOCOL_ONLY = {
  regex: '(^|/)engine/(?!protocol$)',
  message: 'Outside src/main/engine/ only its protocol (engine/protocol.ts) is imported: what both sides need belongs in src/shared/.',
};

const subfolders = (root, rel) => fs.readdirSync(path.join(root, rel), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => path.posix.join(rel, e.name));
/** `rel` and every folder below it, relative to `root`. */
const foldersUnder = (root, rel) => [rel, ...subfolders(root, rel).flatMap((d) => foldersUnder(root, d))];

/**
 * Features never import each other's files (DESIGN.md): what two screens share lives in
 * src/renderer/components/. One override per folder under features/, since how many `../` reach
 * another feature depends on how deep the importing file sits.
 */
function featureBoundaries() {
  const root = path.join(path.dirname(fileURLToPath(import.meta.url)), FEATURES);
  const features = subfolders(root, '');
  return features.flatMap((feature) =>
    foldersUnder(root, feature).map((dir) => {
      const up = '\\.\\./'.repeat(dir.split('/').length);
      const other = `(?!${feature}(/|$))`;
      return {
        files: [`${FEATURES}/${dir}/*.{ts,tsx}`],
        rules: {
          'no-restricted-imports': [
            'error',
            {
              patterns: [
                { group: RENDERER_BANNED },
                SHARED_NODE,
                {
                  // ../other-feature/... from this folder's depth, or any path through features/other-feature
                  regex: `^${up}${other}[^./][^/]*(/|$)|(^|/)features/${other}`,
                  message: `features/${feature} cannot import another feature's files: move what both use to src/renderer/components/.`,
                },
              ],
            },
          ],
        },
      };
    }),
  );
}

/**
 * The engine process's boundary (DESIGN.md): src/main/engine/ imports only its own folder and
 * src/shared/ (npm packages aside); its protocol, which the host imports too, only src/shared/. One
 * override per folder, since how many `../` leave the engine depends on the importing file's depth.
 */
function engineBoundary() {
  const root = path.join(path.dirname(fileURLToPath(import.meta.url)), ENGINE);
  const message = 'src/main/engine/ imports only its own folder and src/shared/: move what both sides need to src/shared/ (Node code to src/shared/node/) or pass it in the call.';
  return [
    ...foldersUnder(root, '').map((dir) => {
      const depth = dir === '' ? 0 : dir.split('/').length;
      // Up to src/main (depth + 1 times '../'), then anywhere but ../shared/.
      const leaves = `^(\\.\\./){${depth + 1}}(?!\\.\\./shared/)`;
      return { files: [`${ENGINE}/${dir ? dir + '/' : ''}*.ts`], rules: { 'no-restricted-imports': ['error', { patterns: [{ regex: leaves, message }] }] } };
    }),
    {
      files: [`${ENGINE}/protocol.ts`],
      rules: { 'no-restricted-imports': ['error', { patterns: [{ regex: '^\\.(?!\\./\\.\\./shared/)', message: 'The engine protocol is imported by both sides: it imports only src/shared/.' }] }] },
    },
  ];
}

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'types/**', 'node_modules/**', 'test-results/**', 'bench/results/**', 'patches/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/renderer/**/*.{ts,tsx}'],
    plugins: { 'react-hooks': reactHooks },
    rules: { 'react-hooks/rules-of-hooks': 'error', 'react-hooks/exhaustive-deps': 'warn' },
  },
  {
    files: ['src/renderer/**/*.{ts,tsx}'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: RENDERER_BANNED }, SHARED_NODE] }] },
  },
  ...featureBoundaries(),
  {
    // Host side: TensorFlow.js and ONNX Runtime live only in the engine process (a type import is
    // fine, it loads nothing), and of the engine's folder only its protocol is imported.
    files: ['src/main/**/*.ts'],
    ignores: ['src/main/engine/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: [NO_ML_RUNTIME, ENGINE_PROTOCOL_ONLY] }] },
  },
  {
    files: ['src/preload/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [NO_ML_RUNTIME, SHARED_NODE] }] },
  },
  ...engineBoundary(),
  {
    // Every SQL statement is a typed query in src/main/store/ (DESIGN.md). better-sqlite3's
    // statement-running calls: .pragma and .transaction on anything; .prepare and .exec given SQL
    // text, or called on a database named db (a RegExp's .exec and the engine's batch .prepare
    // stay allowed).
    files: ['src/main/**/*.ts'],
    ignores: ['src/main/store/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        ...[
          'CallExpression[callee.property.name=/^(pragma|transaction)$/]',
          'CallExpression[callee.property.name=/^(prepare|exec)$/]:matches([arguments.0.type=/^(Literal|TemplateLiteral)$/]:not([callee.object.regex]), [callee.object.name="db"], [callee.object.property.name="db"])',
        ].map((selector) => ({ selector, message: 'SQL belongs in src/main/store/: add a typed query there and call it.' })),
      ],
    },
  },
  {
    files: ['src/shared/**/*.ts'],
    // src/shared/node/: Node-only code of the host and the engine process (never the renderer's).
    ignores: ['src/shared/node/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/main/**', '**/renderer/**', '**/preload/**', 'electron', 'node:*', '@tensorflow/*', 'onnxruntime-*'] },
            { regex: '^(\\.{1,2}/)+node(/|$)', message: 'src/shared/ outside node/ is imported by the renderer: it cannot use the Node-only src/shared/node/.' },
          ],
        },
      ],
    },
  },
  {
    // src/shared/node/: Node-only code both the host and the engine process import (never the
    // renderer): node:* and npm packages, nothing of a process, and no ML runtime loaded (a type is fine).
    files: ['src/shared/node/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['**/main/**', '**/renderer/**', '**/preload/**', 'electron'] }, NO_ML_RUNTIME] }] },
  },
);

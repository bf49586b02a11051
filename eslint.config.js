import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The renderer never imports main, and shared imports neither (DESIGN.md).
const RENDERER_BANNED = ['**/main/**', 'electron', 'node:*', '@tensorflow/*', 'onnxruntime-*'];
const FEATURES = 'src/renderer/features';

/**
 * Features never import each other's files (DESIGN.md): what two screens share lives in
 * src/renderer/components/. One override per folder under features/, since how many `../` reach
 * another feature depends on how deep the importing file sits.
 */
function featureBoundaries() {
  const root = path.join(path.dirname(fileURLToPath(import.meta.url)), FEATURES);
  const subdirs = (rel) => fs.readdirSync(path.join(root, rel), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => path.posix.join(rel, e.name));
  const dirs = (rel) => [rel, ...subdirs(rel).flatMap(dirs)];
  const features = subdirs('');
  return features.flatMap((feature) =>
    dirs(feature).map((dir) => {
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
    rules: { 'no-restricted-imports': ['error', { patterns: RENDERER_BANNED }] },
  },
  ...featureBoundaries(),
  {
    // TensorFlow.js and ONNX Runtime live only in the engine process (src/main/engine/);
    // a type import elsewhere is fine, it loads nothing.
    files: ['src/main/**/*.ts', 'src/preload/**/*.ts'],
    ignores: ['src/main/engine/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['@tensorflow/*', 'onnxruntime-*'], allowTypeImports: true, message: 'Only src/main/engine/ (the engine process) loads TensorFlow.js or ONNX Runtime.' }] },
      ],
    },
  },
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
    rules: { 'no-restricted-imports': ['error', { patterns: ['**/main/**', '**/renderer/**', '**/preload/**', 'electron', 'node:*', '@tensorflow/*', 'onnxruntime-*'] }] },
  },
  {
    // src/shared/node/: Node-only code both the host and the engine process import (never the renderer).
    files: ['src/shared/node/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['**/main/**', '**/renderer/**', '**/preload/**', 'electron', '@tensorflow/*', 'onnxruntime-*'] }] },
  },
);

// ESLint (flat config) for the TypeScript sources: type-aware correctness rules only, no style.
// `npm run lint` (part of `npm test`). TypeScript 7 has no in-process compiler API, so
// typescript-eslint reads the types through `typescript` = @typescript/typescript6 (package.json);
// `tsc` itself is TypeScript 7 (@typescript/native).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

const root = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig([
  // Only the TypeScript of tsconfig.json (src, addon, dev, test, bench, scripts/*.ts) is linted.
  globalIgnores([
    'dist/',
    '.cache/',
    '.stryker-tmp/',
    'reports/',
    'data/',
    'tmp/',
    '**/*.js',
    '**/*.mjs',
    '**/*.cjs',
  ]),
  {
    files: ['**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      // `project` rather than `projectService`: one program for the whole tsconfig.json, about a
      // quarter less CPU and a third less memory here.
      parserOptions: { project: './tsconfig.json', tsconfigRootDir: root },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // A promise nobody awaits or handles: a rejection becomes an unhandledRejection (zmes exits).
      // A deliberate fire-and-forget call says so with `void` (and handles its errors itself).
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test's test()/it()/describe() return a promise the runner itself awaits.
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] },
          ],
        },
      ],
      // ...but that also lets a subtest's `t.test()` float, which the parent must await.
      'no-restricted-syntax': [
        'error',
        {
          selector: "ExpressionStatement > CallExpression[callee.type='MemberExpression'][callee.property.name='test']",
          message: 'A subtest (t.test()) returns a promise the parent test must await.',
        },
      ],
      // An async function where a void callback is expected (event handlers, timers, forEach):
      // its rejection is lost. Wrap it: `() => { void run(); }`.
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
    },
  },
  {
    // No `any` outside the tests (which may use it for fakes).
    files: ['src/**/*.ts', 'addon/**/*.ts', 'dev/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'error' },
  },
]);

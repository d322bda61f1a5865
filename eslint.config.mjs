import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

// Workflow code is replayed deterministically inside Temporal's sandbox: no Node built-ins, no I/O.
const forbiddenInWorkflows = [
  ...builtinModules,
  ...builtinModules.map((m) => `node:${m}`),
  'pg', 'pg-*', 'undici', 'fastify', 'pino', 'pino-*', 'prom-client', 'node-pg-migrate', 'yaml',
  '@aws-sdk/*', '@temporalio/client', '@temporalio/worker', '@temporalio/activity', '@temporalio/testing',
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.data/**', 'coverage/**', 'test/fixtures/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: forbiddenInWorkflows, message: 'Workflows must be deterministic: no Node built-ins or I/O libraries. Do the I/O in an activity.' }],
      }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // Activities are imported into workflows for their types only.
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-syntax': ['error', {
        selector: "ImportDeclaration[importKind!='type'][source.value=/activities/]",
        message: 'Import activities with `import type` and call them through proxyActivities.',
      }],
    },
  },
  {
    // The sample app's Supabase Edge Functions run on Deno, outside this project's tsconfig: linted without type information.
    files: ['examples/**/supabase/functions/**/*.ts'],
    ...tseslint.configs.disableTypeChecked,
  },
);

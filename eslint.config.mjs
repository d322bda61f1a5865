import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Workflow code is replayed deterministically inside Temporal's sandbox: no Node built-ins, no I/O.
const WORKFLOW_IMPORTS =
  'Workflows must be deterministic: values come only from src/workflows, @temporalio/workflow, @temporalio/common and zod, so no Node built-ins or I/O libraries (do the I/O in an activity, called through proxyActivities); use `import type` for anything else.';

/**
 * Workflow files (src/workflows/**) import values only from src/workflows and the workflow packages;
 * types from anywhere. One block per folder depth, because a relative path that leaves src/workflows
 * has one more "../" per level.
 */
function workflowImportRules() {
  return [1, 2, 3].map((depth) => ({
    files: [`src/workflows/${'*/'.repeat(depth - 1)}*.ts`],
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            // Any package but the allowed ones, and any relative path that climbs out of src/workflows.
            { regex: `^(?!@temporalio/(workflow|common)(/|$)|zod$|\\.{1,2}/)`, allowTypeImports: true, message: WORKFLOW_IMPORTS },
            { regex: `^${'\\.\\./'.repeat(depth)}`, allowTypeImports: true, message: WORKFLOW_IMPORTS },
          ],
        },
      ],
    },
  }));
}

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
  ...workflowImportRules(),
  {
    // The sample app's Supabase Edge Functions run on Deno, outside this project's tsconfig: linted without type information.
    files: ['examples/**/supabase/functions/**/*.ts'],
    ...tseslint.configs.disableTypeChecked,
  },
);

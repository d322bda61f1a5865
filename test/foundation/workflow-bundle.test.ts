import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../../src/worker';

/** The project's own modules webpack put into the workflow bundle (webpack names each module by path). */
function projectModules(code: string): string[] {
  return [...new Set([...code.matchAll(/\/\*\*\*\/ "\.\/(src\/[^"]+)"/g)].map((m) => m[1]))].sort();
}

describe('the workflow bundle', () => {
  let modules: string[];
  beforeAll(async () => {
    const silent = { info() {}, warn() {}, error() {}, debug() {}, trace() {}, log() {} };
    const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: silent });
    modules = projectModules(code);
  }, 120_000);

  it('holds workflow code', () => {
    expect(modules).toContain('src/workflows/index.ts');
    expect(modules.filter((m) => m.startsWith('src/workflows/common/')).length).toBeGreaterThan(3);
  });

  it('holds nothing of the project outside src/workflows (no configuration schema, activities or clients)', () => {
    expect(modules.filter((m) => !m.startsWith('src/workflows/'))).toEqual([]);
  });
});

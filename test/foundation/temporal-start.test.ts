import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { temporalCli } from '../../src/stack/binaries';
import { startLocalTemporal } from '../../src/stack/temporal';

/**
 * A port found free can be taken by another process before the dev server binds it: the server then exits during
 * start-up. startLocalTemporal starts it again on other ports, and says why when it cannot.
 */
describe('starting the embedded Temporal dev server', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'temporal-start-'));
  const real = temporalCli();
  afterAll(() => {
    delete process.env.TEMPORAL_CLI;
    rmSync(dir, { recursive: true, force: true });
  });

  /** A temporal binary whose first `failures` starts exit 2 the way a lost port does, then the real one. */
  function flakyCli(failures: number): { calls: () => string[] } {
    const count = path.join(dir, `calls-${failures}`);
    const script = path.join(dir, `temporal-${failures}`);
    writeFileSync(count, '');
    writeFileSync(
      script,
      `#!/bin/sh
echo "$*" >> '${count}'
if [ "$(wc -l < '${count}')" -le ${failures} ]; then
  echo "listen tcp 127.0.0.1: bind: address already in use" >&2
  exit 2
fi
exec '${real}' "$@"
`,
    );
    chmodSync(script, 0o755);
    process.env.TEMPORAL_CLI = script;
    return { calls: () => readFileSync(count, 'utf8').trim().split('\n') };
  }

  it('a server that exits during start-up is started again on another port', async () => {
    const cli = flakyCli(1);
    const temporal = await startLocalTemporal({ headless: true });
    try {
      const calls = cli.calls();
      expect(calls).toHaveLength(2);
      const port = (args: string) => /--port (\d+)/.exec(args)![1];
      expect(port(calls[1])).not.toBe(port(calls[0]));
      expect(temporal.address).toBe(`127.0.0.1:${port(calls[1])}`);
    } finally {
      await temporal.stop();
    }
  }, 90_000);

  it('gives up after three starts, with what the server said', async () => {
    const cli = flakyCli(5);
    await expect(startLocalTemporal({ headless: true })).rejects.toThrow(/exited with code 2 during start-up:\n.*address already in use/);
    expect(cli.calls()).toHaveLength(3);
  });
});

/** The restart loop of src/stack/supervise.ts on stand-in servers: backoff, the failure window, giving up, stopping. */
import pino from 'pino';
import { restartPolicyFromEnv, supervise, SupervisionError, type ServerExit, type SupervisedServer } from '../../src/stack/supervise';

class FakeServer implements SupervisedServer {
  static next = 1000;
  readonly pid = FakeServer.next++;
  stopped = false;
  private die: (e: ServerExit) => void = () => undefined;
  readonly exited = new Promise<ServerExit>((resolve) => (this.die = resolve));
  kill(signal: NodeJS.Signals = 'SIGKILL') {
    this.die({ code: null, signal });
  }
  async stop() {
    this.stopped = true;
    this.die({ code: 0, signal: null });
  }
}

const log = pino({ level: 'silent' });
const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, probe: () => boolean, timeoutMs = 2_000) {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await tick(5);
  }
}

test('a dead server is replaced after the backoff, which doubles with each failure in the window', async () => {
  const first = new FakeServer();
  const starts: number[] = [];
  const restarted: [number, number][] = [];
  const s = supervise({
    component: 'temporal',
    what: 'the server',
    first,
    restart: async () => {
      starts.push(Date.now());
      return new FakeServer();
    },
    restarted: (next, previous) => restarted.push([previous.pid, next.pid]),
    giveUp: () => {
      throw new Error('should not give up');
    },
    policy: { limit: 5, windowMs: 60_000, backoffMs: 40, maxBackoffMs: 1_000 },
    log,
  });
  const killedAt = Date.now();
  first.kill();
  await until('first restart', () => restarted.length === 1);
  expect(starts[0] - killedAt).toBeGreaterThanOrEqual(35);
  const second = s.current() as FakeServer;
  expect(restarted[0]).toEqual([first.pid, second.pid]);

  const again = Date.now();
  second.kill();
  await until('second restart', () => restarted.length === 2);
  expect(starts[1] - again).toBeGreaterThanOrEqual(75); // 40 · 2

  const third = s.current() as FakeServer;
  await s.stop();
  expect(third.stopped).toBe(true);
  expect(starts).toHaveLength(2); // a stop is not a death
});

test('failed restart attempts count too; one failure more than the limit within the window gives up, naming the component and reason', async () => {
  const first = new FakeServer();
  let attempts = 0;
  let gaveUp: SupervisionError | undefined;
  supervise({
    component: 'postgres',
    what: 'PostgreSQL',
    first,
    restart: async () => {
      attempts++;
      throw new Error('port 54329 is in use\nmore detail');
    },
    restarted: () => undefined,
    giveUp: (err) => (gaveUp = err),
    policy: { limit: 2, windowMs: 60_000, backoffMs: 1, maxBackoffMs: 10 },
    log,
  });
  first.kill();
  await until('give up', () => gaveUp !== undefined);
  expect(attempts).toBe(2);
  expect(gaveUp).toBeInstanceOf(SupervisionError);
  expect(gaveUp!.component).toBe('postgres');
  expect(gaveUp!.message).toBe(
    'postgres: giving up after 3 failures within 60 s (restart limit 2); last: restarting PostgreSQL failed: port 54329 is in use',
  );
});

test('failures older than the window are forgotten', async () => {
  let gaveUp = false;
  let restarts = 0;
  const s = supervise({
    component: 'temporal',
    what: 'the server',
    first: new FakeServer(),
    restart: async () => {
      restarts++;
      return new FakeServer();
    },
    restarted: () => undefined,
    giveUp: () => (gaveUp = true),
    policy: { limit: 1, windowMs: 100, backoffMs: 1, maxBackoffMs: 1 },
    log,
  });
  for (let i = 1; i <= 3; i++) {
    (s.current() as FakeServer).kill();
    await until(`restart ${i}`, () => restarts === i);
    await tick(120); // past the window
  }
  expect(gaveUp).toBe(false);
  await s.stop();
});

test('RUNBOOK_RESTART_LIMIT=0: the first death ends the stack', async () => {
  const first = new FakeServer();
  let gaveUp: SupervisionError | undefined;
  supervise({
    component: 'temporal',
    what: 'the Temporal dev server',
    first,
    restart: async () => new FakeServer(),
    restarted: () => undefined,
    giveUp: (err) => (gaveUp = err),
    policy: restartPolicyFromEnv({ RUNBOOK_RESTART_LIMIT: '0' }),
    log,
  });
  first.kill('SIGSEGV');
  await until('give up', () => gaveUp !== undefined);
  expect(gaveUp!.message).toBe(
    `temporal: the Temporal dev server (pid ${first.pid}) killed by SIGSEGV; restarts are off (RUNBOOK_RESTART_LIMIT=0), stopping the stack`,
  );
});

test('a stop during the backoff cancels the restart', async () => {
  const first = new FakeServer();
  let restarts = 0;
  const s = supervise({
    component: 'temporal',
    what: 'the server',
    first,
    restart: async () => {
      restarts++;
      return new FakeServer();
    },
    restarted: () => undefined,
    giveUp: () => undefined,
    policy: { limit: 5, windowMs: 60_000, backoffMs: 5_000, maxBackoffMs: 5_000 },
    log,
  });
  first.kill();
  await tick(20);
  const started = Date.now();
  await s.stop();
  expect(Date.now() - started).toBeLessThan(1_000);
  expect(restarts).toBe(0);
});

test('restart settings from the environment', () => {
  expect(restartPolicyFromEnv({})).toEqual({ limit: 5, windowMs: 600_000, backoffMs: 1_000, maxBackoffMs: 30_000 });
  expect(
    restartPolicyFromEnv({ RUNBOOK_RESTART_LIMIT: '2', RUNBOOK_RESTART_WINDOW_MS: '5000', RUNBOOK_RESTART_BACKOFF_MS: '100' }),
  ).toEqual({
    limit: 2,
    windowMs: 5_000,
    backoffMs: 100,
    maxBackoffMs: 30_000,
  });
  expect(() => restartPolicyFromEnv({ RUNBOOK_RESTART_LIMIT: 'many' })).toThrow(
    'RUNBOOK_RESTART_LIMIT: must be a whole number ≥ 0, got "many"',
  );
});

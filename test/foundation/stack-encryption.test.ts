/**
 * `npm start` with RUNBOOK_PAYLOAD_KEY and RUNBOOK_CODEC_TOKEN: the stack's own worker reads and writes
 * encrypted payloads, the CLI decodes them, and the codec server runs for the UI's origin.
 */
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { selfCheck } from '../../src/workflows';
import { ENCRYPTED_ENCODING } from '../../src/temporal/codec';
import { clientOptions, temporalTargetFromEnv } from '../../src/temporal/connection';
import { freePort } from '../../src/stack/ports';
import { runCli } from '../harness/cli';
import { uniqueName } from '../harness';
import { cleanUpStack, stackEnv, startStack, type StartedStack } from '../harness/stack';

test('the stack encrypts with the key from its environment and serves the codec server', async () => {
  const TOKEN = randomBytes(18).toString('base64url');
  const codecPort = await freePort();
  const { dataDir, env, ports } = await stackEnv({
    RUNBOOK_PAYLOAD_KEY: `stack1:${randomBytes(32).toString('base64')}`,
    RUNBOOK_CODEC_TOKEN: TOKEN,
    RUNBOOK_CODEC_PORT: String(codecPort),
  });
  let running: StartedStack | undefined;
  const address = `127.0.0.1:${ports.temporal}`;
  try {
    running = await startStack(env);
    expect(running.output()).toMatch(new RegExp(`codec server\\s+http://127\\.0\\.0\\.1:${codecPort}/\\{decode,encode\\}`));

    const conn = await Connection.connect({ address });
    try {
      // A client with the same key: the stack's worker must decrypt the input to run the workflow at all.
      const client = new Client(clientOptions(conn, temporalTargetFromEnv({ ...env, TEMPORAL_ADDRESS: address })));
      const workflowId = uniqueName('stack-enc');
      const secret = `stack test ${randomBytes(4).toString('hex')}`;
      const result = await client.workflow.execute(selfCheck, {
        taskQueue: 'durable-runbooks',
        workflowId,
        args: [{ requestedBy: secret }],
      });
      expect(result).toMatchObject({ database: 'ops' });

      const history = await new Client({ connection: conn }).workflow.getHandle(workflowId).fetchHistory();
      const started = history.events![0].workflowExecutionStartedEventAttributes!.input!.payloads![0];
      expect(Buffer.from(started.metadata!.encoding!).toString()).toBe(ENCRYPTED_ENCODING);
      const completed = history.events!.at(-1)!.workflowExecutionCompletedEventAttributes!.result!.payloads![0];
      expect(Buffer.from(completed.metadata!.encoding!).toString()).toBe(ENCRYPTED_ENCODING);

      // The CLI starts with the key set and lists the run.
      const status = await runCli(['status', '--all', '--json'], env);
      expect({ code: status.code, stderr: status.stderr }).toEqual({ code: 0, stderr: '' });
      expect(status.stdout).toContain(workflowId);

      // The codec server: preflight from the stack's UI origin allowed, requests need the token.
      const pre = await fetch(`http://127.0.0.1:${codecPort}/decode`, {
        method: 'OPTIONS',
        headers: { origin: `http://localhost:${ports.ui}`, 'access-control-request-method': 'POST' },
      });
      expect(pre.status).toBe(204);
      const body = JSON.stringify({
        payloads: [
          {
            metadata: {
              encoding: Buffer.from(started.metadata!.encoding!).toString('base64'),
              'encryption-key-id': Buffer.from(started.metadata!['encryption-key-id']!).toString('base64'),
            },
            data: Buffer.from(started.data!).toString('base64'),
          },
        ],
      });
      const refused = await fetch(`http://127.0.0.1:${codecPort}/decode`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json' },
      });
      expect(refused.status).toBe(401);
      const decoded = await fetch(`http://127.0.0.1:${codecPort}/decode`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      });
      expect(decoded.status).toBe(200);
      const [p] = ((await decoded.json()) as { payloads: { data: string }[] }).payloads;
      expect(JSON.parse(Buffer.from(p.data, 'base64').toString())).toEqual({ requestedBy: secret });
    } finally {
      await conn.close();
    }
    expect(await running.interrupt()).toBe(0);
  } finally {
    await cleanUpStack(dataDir, running);
  }
}, 240_000);

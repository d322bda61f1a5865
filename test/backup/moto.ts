import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { TOOLS_BIN, which } from '../../src/stack/binaries';
import { freePort, waitForPort } from '../../src/stack/ports';

export interface LocalS3 {
  endpoint: string;
  client: S3Client;
  credentials: { accessKeyId: string; secretAccessKey: string };
  stop(): Promise<void>;
}

/** moto's standalone S3-compatible server on a free loopback port (installed by `npm run setup`). */
export async function startLocalS3(bucket: string): Promise<LocalS3> {
  const binary =
    which('moto_server') ?? (existsSync(path.join(TOOLS_BIN, 'moto_server')) ? path.join(TOOLS_BIN, 'moto_server') : undefined);
  if (!binary) throw new Error('moto_server not found: run `npm run setup` (pip install "moto[server]")');
  const port = await freePort();
  const child: ChildProcess = spawn(binary, ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitForPort(port, '127.0.0.1', 60_000);
  const endpoint = `http://127.0.0.1:${port}`;
  const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
  const client = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    endpoint,
    client,
    credentials,
    async stop() {
      client.destroy();
      child.kill('SIGTERM');
      await exited;
    },
  };
}

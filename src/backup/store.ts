import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { RunbookConfig } from '../config/schema';
import { secretFromEnv } from '../config/load';

/**
 * Where backups live. `put` publishes an object only once it is complete: a crash mid-write never leaves
 * an object that looks whole (a directory store renames `<name>.partial`; S3 completes a multipart upload).
 */
export interface BackupStore {
  /** Human-readable location of a key: a path or an s3:// URL. */
  locate(key: string): string;
  /** Streams `body` into `key`; `signal` aborts and removes what was written. */
  put(key: string, body: Readable, opts?: { signal?: AbortSignal }): Promise<void>;
  putText(key: string, text: string): Promise<void>;
  get(key: string): Promise<Readable>;
  /** undefined when the object does not exist. */
  getText(key: string): Promise<string | undefined>;
  size(key: string): Promise<number | undefined>;
  delete(key: string): Promise<void>;
  /** Short description for the catalogue, e.g. `directory:/var/backups`. */
  readonly description: string;
}

export class DirectoryStore implements BackupStore {
  readonly root: string;
  readonly description: string;

  constructor(root: string) {
    this.root = path.resolve(root);
    this.description = `directory:${this.root}`;
  }

  private file(key: string): string {
    const file = path.resolve(this.root, key);
    if (!file.startsWith(this.root + path.sep)) throw new Error(`backup key "${key}" leaves the store directory`);
    return file;
  }

  locate(key: string): string {
    return this.file(key);
  }

  async put(key: string, body: Readable, opts: { signal?: AbortSignal } = {}): Promise<void> {
    const file = this.file(key);
    const partial = `${file}.partial`;
    await mkdir(path.dirname(file), { recursive: true });
    try {
      await pipeline(body, createWriteStream(partial, { flags: 'w' }), { signal: opts.signal });
      // Durable before it becomes visible under its final name.
      const fh = await open(partial, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(partial, file);
    } catch (err) {
      await rm(partial, { force: true });
      throw err;
    }
  }

  async putText(key: string, text: string): Promise<void> {
    const file = this.file(key);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(`${file}.partial`, text);
    await rename(`${file}.partial`, file);
  }

  async get(key: string): Promise<Readable> {
    const file = this.file(key);
    await stat(file); // a missing object fails here, not mid-pipeline
    return createReadStream(file, { highWaterMark: 1 << 20 });
  }

  async getText(key: string): Promise<string | undefined> {
    try {
      return await readFile(this.file(key), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async size(key: string): Promise<number | undefined> {
    try {
      return (await stat(this.file(key))).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    for (const f of [this.file(key), `${this.file(key)}.partial`]) {
      await unlink(f).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    }
  }
}

/**
 * The configured store; S3 credentials come from the environment variables the config names (else the
 * SDK's default chain). The AWS SDK loads only when an S3 store is configured (it is large).
 */
export async function createBackupStore(config: RunbookConfig['backup']['store'], env: NodeJS.ProcessEnv): Promise<BackupStore> {
  if (config.type === 'directory') return new DirectoryStore(config.path);
  const { S3Store } = await import('./s3-store');
  const accessKeyId = secretFromEnv(config.accessKeyIdEnv, env);
  const secretAccessKey = secretFromEnv(config.secretAccessKeyEnv, env);
  return new S3Store({
    bucket: config.bucket,
    prefix: config.prefix,
    region: config.region,
    endpoint: config.endpoint,
    forcePathStyle: config.forcePathStyle,
    credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined,
  });
}

import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BackupStore } from './store';

/** Backups as files under one directory; `put` renames `<name>.partial` once the file is durable. */
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
      await publish(partial, file);
    } catch (err) {
      await rm(partial, { force: true });
      throw err;
    }
  }

  /** The manifest, written like the archive: durable before it appears, since its presence marks the backup complete. */
  async putText(key: string, text: string): Promise<void> {
    const file = this.file(key);
    const partial = `${file}.partial`;
    await mkdir(path.dirname(file), { recursive: true });
    try {
      await writeFile(partial, text);
      await publish(partial, file);
    } catch (err) {
      await rm(partial, { force: true });
      throw err;
    }
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

/** fsync, then rename: a crash never leaves a name pointing at bytes that were not yet on disk. */
async function publish(partial: string, file: string): Promise<void> {
  const fh = await open(partial, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(partial, file);
}

import { childEnv } from '../../host/child-env';
import { pipeline } from 'node:stream/promises';
import { splitPassword, type PgTools } from './pg-tools';
import type { BackupStore } from './store';
import { decompressor, HashMeter, rootCause, startChild, ZSTD_DECOMPRESS_ARGS, type Child, type Codec, type Compression } from './streams';

/** Where pg_restore sends the archive: nowhere (read it fully, check it), or into a database. */
export type RestoreTarget =
  | { kind: 'null' }
  | {
      kind: 'database';
      url: string;
      /** Drop objects before recreating them (restoring over an existing database). */
      clean: boolean;
    };

export interface ReadArchiveOptions {
  store: BackupStore;
  objectKey: string;
  compression: Compression;
  tools: PgTools;
  target: RestoreTarget;
  signal?: AbortSignal;
}

export interface RunningRead {
  /** Stored bytes read so far. */
  bytes(): number;
  /** SHA-256 of every stored byte read; settles once pg_restore has succeeded. */
  done: Promise<{ sha256: string; bytes: number }>;
}

/**
 * Store → decompression → pg_restore, streamed. `--list` would accept a truncated archive, so the archive
 * is always read through to its end: into /dev/null to check it, or into a database to restore it.
 * A restore runs in one transaction and stops at the first error: it either completes or changes nothing.
 */
export function readArchive(opts: ReadArchiveOptions): RunningRead {
  const meter = new HashMeter();
  const done = run();
  done.catch(() => undefined);
  return { bytes: () => meter.bytes, done };

  async function run() {
    const env = childEnv();
    let args: string[];
    if (opts.target.kind === 'null') {
      args = ['--file=/dev/null'];
    } else {
      const { url, password } = splitPassword(opts.target.url);
      if (password) env.PGPASSWORD = password;
      args = ['--no-owner', '--exit-on-error', '--single-transaction', '--no-password', `--dbname=${url}`];
      if (opts.target.clean) args.push('--clean', '--if-exists');
    }
    const source = await opts.store.get(opts.objectKey);
    let codec: Pick<Codec, 'done' | 'kill'>;
    let pgRestore: Child;
    let flow: Promise<void>;
    if (opts.compression === 'zstd') {
      // zstd writes straight into pg_restore: only the compressed bytes pass through this process.
      const zstd = startChild('zstd', ZSTD_DECOMPRESS_ARGS, { stdio: ['pipe', 'pipe', 'pipe'] });
      pgRestore = startChild(opts.tools.pgRestore, ['--format=custom', ...args], { stdio: [zstd.process.stdout!, 'ignore', 'pipe'], env });
      zstd.process.stdout!.destroy();
      codec = { done: zstd.exited, kill: () => zstd.kill() };
      flow = pipeline(source, meter, zstd.process.stdin!, { signal: opts.signal });
    } else {
      const gunzip = decompressor(opts.compression);
      codec = gunzip;
      pgRestore = startChild(opts.tools.pgRestore, ['--format=custom', ...args], { stdio: ['pipe', 'ignore', 'pipe'], env });
      flow = pipeline(source, meter, gunzip.stream, pgRestore.process.stdin!, { signal: opts.signal });
    }
    try {
      await Promise.all([flow, codec.done, pgRestore.exited]);
      return { sha256: meter.digest(), bytes: meter.bytes };
    } catch (err) {
      source.destroy();
      codec.kill();
      pgRestore.kill();
      throw rootCause(err, await Promise.allSettled([pgRestore.exited, codec.done, flow]));
    }
  }
}

/** SHA-256 and size of a stored object, read once. */
export async function hashStoredObject(store: BackupStore, key: string, signal?: AbortSignal): Promise<{ sha256: string; bytes: number }> {
  const meter = new HashMeter();
  const source = await store.get(key);
  await pipeline(
    source,
    meter,
    async (chunks: AsyncIterable<Buffer>) => {
      for await (const chunk of chunks) void chunk; // only the hash is wanted
    },
    { signal },
  );
  return { sha256: meter.digest(), bytes: meter.bytes };
}

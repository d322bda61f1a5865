import { childEnv } from '../../host/child-env';
import type { Duplex, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { connect } from '../../db/connect';
import type { TableStats } from '../../workflows/backup/contract';
import { assertDumpCanRead, serverMajor, splitPassword, toolVersion, type PgTools } from './pg-tools';
import type { BackupStore } from './store';
import { ByteCounter, compressor, HashMeter, rootCause, startChild, ZSTD_COMPRESS_ARGS, type Codec, type Compression } from './streams';
import { tableStats } from './table-stats';

export interface DumpOptions {
  url: string;
  tools: PgTools;
  compression: Compression;
  store: BackupStore;
  objectKey: string;
  md5MaxRows: number;
  signal?: AbortSignal;
}

export interface DumpProgress {
  /** Bytes of the uncompressed archive pg_dump has written (gzip only: zstd reads pg_dump directly). */
  archiveBytes: number;
  /** Bytes stored so far. */
  storedBytes: number;
  tablesCounted: number;
}

export interface DumpOutcome {
  databaseName: string;
  serverVersion: string;
  pgDumpVersion: string;
  sizeBytes: number;
  /** Uncompressed archive bytes, where they pass through this process (gzip). */
  archiveBytes?: number;
  sha256: string;
  tables: TableStats[];
}

/** A running dump: `progress()` reads the counters at any time, `done` settles when the archive is stored. */
export interface RunningDump {
  progress(): DumpProgress;
  done: Promise<DumpOutcome>;
}

/**
 * `pg_dump -Fc -Z0` → compression → SHA-256 → store, as one stream: nothing is held whole in memory or
 * written to a temporary file. Row counts come from the same snapshot: a REPEATABLE READ transaction
 * exports it, pg_dump imports it (`--snapshot`), and the transaction stays open until pg_dump is done.
 */
export function startDump(opts: DumpOptions): RunningDump {
  const counter = new ByteCounter();
  let meter: HashMeter | undefined;
  let tablesCounted = 0;
  const done = run();
  done.catch(() => undefined);
  return {
    progress: () => ({ archiveBytes: counter.bytes, storedBytes: meter?.bytes ?? 0, tablesCounted }),
    done,
  };

  async function run(): Promise<DumpOutcome> {
    const client = await connect(opts.url, 'runbook-backup');
    try {
      const { rows } = await client.query<{ version: string; num: string; db: string }>(
        "SELECT current_setting('server_version') AS version, current_setting('server_version_num') AS num, current_database() AS db",
      );
      const server = { version: rows[0].version.split(' ')[0], major: serverMajor(Number(rows[0].num)) };
      const dumpVersion = await toolVersion(opts.tools.pgDump);
      assertDumpCanRead({ path: opts.tools.pgDump, version: dumpVersion.text, major: dumpVersion.major }, server);

      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      // The counts run beside pg_dump; without parallel workers they take one core and leave the rest to the dump.
      await client.query('SET LOCAL max_parallel_workers_per_gather = 0');
      const snapshot = (await client.query<{ id: string }>('SELECT pg_export_snapshot() AS id')).rows[0].id;

      const { url, password } = splitPassword(opts.url);
      const pgDump = startChild(
        opts.tools.pgDump,
        ['--format=custom', '--compress=0', `--snapshot=${snapshot}`, '--no-password', `--dbname=${url}`],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
          env: childEnv({ PGPASSWORD: password }),
        },
      );
      // zstd reads pg_dump's stdout directly (the parent lets go of its end): the uncompressed archive never
      // passes through this process. gzip runs in node's zlib.
      let codec: Pick<Codec, 'done' | 'kill'>;
      let chain: [Readable, ...Duplex[]];
      if (opts.compression === 'zstd') {
        const zstd = startChild('zstd', ZSTD_COMPRESS_ARGS, { stdio: [pgDump.process.stdout!, 'pipe', 'pipe'] });
        pgDump.process.stdout!.destroy();
        codec = { done: zstd.exited, kill: () => zstd.kill() };
        chain = [zstd.process.stdout!];
      } else {
        const gzip = compressor(opts.compression);
        codec = gzip;
        chain = [pgDump.process.stdout!, counter, gzip.stream];
      }
      meter = new HashMeter(() => Promise.all([pgDump.exited, codec.done]));
      const abort = new AbortController();
      const onCancel = () => abort.abort(opts.signal?.reason);
      opts.signal?.addEventListener('abort', onCancel, { once: true });

      const stored = opts.store.put(opts.objectKey, meter, { signal: abort.signal });
      const flow = pipeline([...chain, meter]);
      const counted = tableStats(client, { md5MaxRows: opts.md5MaxRows, onTable: () => tablesCounted++ });
      try {
        const [tables] = await Promise.all([counted, stored, flow, pgDump.exited, codec.done]);
        await client.query('COMMIT');
        return {
          databaseName: rows[0].db,
          serverVersion: server.version,
          pgDumpVersion: dumpVersion.text,
          sizeBytes: meter.bytes,
          archiveBytes: opts.compression === 'zstd' ? undefined : counter.bytes,
          sha256: meter.digest(),
          tables,
        };
      } catch (err) {
        abort.abort(err);
        pgDump.kill();
        codec.kill();
        throw rootCause(err, await Promise.allSettled([pgDump.exited, codec.done, stored, flow, counted]));
      } finally {
        opts.signal?.removeEventListener('abort', onCancel);
      }
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { createHash, type Hash } from 'node:crypto';
import { Duplex, Transform, type TransformCallback } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
import { ApplicationFailure } from '@temporalio/common';
import { childEnv } from '../../host/child-env';
import { which } from '../../host/which';

export interface Child {
  process: ChildProcess;
  /** Resolves on exit code 0; rejects naming the program, its exit code and the tail of its stderr. */
  exited: Promise<void>;
  kill(): void;
}

/** Starts a program whose stderr is kept (last 8 kB) for the error message; its environment is `opts.env`, else a minimal one. */
export function startChild(command: string, args: string[], opts: { stdio: StdioOptions; env?: NodeJS.ProcessEnv }): Child {
  const child = spawn(command, args, { stdio: opts.stdio, env: opts.env ?? childEnv() });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-8192);
  });
  const name = command.split('/').pop();
  let stopped = false;
  // Settle on 'exit' plus the end of stderr (for the message), not on 'close': 'close' also waits for
  // stdout, which never closes while a destroyed pipeline leaves unread data in it.
  const stderrDone = child.stderr ? new Promise<void>((resolve) => child.stderr!.once('close', () => resolve())) : Promise.resolve();
  const exited = new Promise<void>((resolve, reject) => {
    child.once('error', (err) => reject(new Error(`${name} could not start: ${err.message}`)));
    child.once('exit', (code, signal) => {
      void stderrDone.then(() => {
        if (code === 0) return resolve();
        const err = new Error(
          `${name} ${signal ? `was killed by ${signal}` : `exited with code ${code}`}${stderr.trim() ? `: ${stderr.trim()}` : ''}`,
        );
        if (stopped) err.name = 'ChildStopped';
        reject(err);
      });
    });
  });
  exited.catch(() => undefined); // observed by whoever awaits it; never an unhandled rejection
  return {
    process: child,
    exited,
    kill() {
      if (child.exitCode === null && child.signalCode === null) {
        stopped = true;
        child.kill('SIGKILL');
      }
      child.stdin?.destroy();
      child.stdout?.destroy();
    },
  };
}

/**
 * The error worth showing when a pipeline of programs fails: a broken pipe or an abort is only the echo
 * of the real failure (pg_dump's or pg_restore's own message), so look for that one among the others.
 */
export function rootCause(first: unknown, others: PromiseSettledResult<unknown>[]): unknown {
  const secondary = (e: unknown) => {
    const x = e as { name?: string; code?: string } | undefined;
    return (
      x?.name === 'AbortError' ||
      x?.name === 'ChildStopped' ||
      x?.code === 'ABORT_ERR' ||
      x?.code === 'EPIPE' ||
      x?.code === 'ERR_STREAM_PREMATURE_CLOSE'
    );
  };
  if (!secondary(first)) return first;
  const better = others.find((r): r is PromiseRejectedResult => r.status === 'rejected' && !secondary(r.reason));
  return better ? better.reason : first;
}

export type Compression = 'zstd' | 'gzip';

/** zstd's defaults (level 3, content checksum on); the bench's raw baseline uses the same flags. */
export const ZSTD_COMPRESS_ARGS = ['-q', '-c', '--no-progress'];
export const ZSTD_DECOMPRESS_ARGS = ['-d', '-q', '-c', '--no-progress'];

/** `auto`: zstd when the binary is installed, else gzip from node's zlib. */
export function chooseCompression(setting: 'zstd' | 'gzip' | 'auto'): Compression {
  if (setting === 'gzip') return 'gzip';
  if (which('zstd')) return 'zstd';
  if (setting === 'zstd') {
    throw ApplicationFailure.create({
      type: 'CompressionUnavailable',
      nonRetryable: true,
      message: 'backup.compression is "zstd" but no zstd binary is on PATH; install zstd or set backup.compression to "auto" or "gzip"',
    });
  }
  return 'gzip';
}

export const extensionOf = (c: Compression) => (c === 'zstd' ? 'zst' : 'gz');

export interface Codec {
  stream: Duplex;
  /** Settles when the codec is done; a zstd process failing rejects it. */
  done: Promise<void>;
  kill(): void;
}

function zstdCodec(args: string[]): Codec {
  const child = startChild('zstd', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const stream = Duplex.from({ writable: child.process.stdin!, readable: child.process.stdout! });
  return { stream, done: child.exited, kill: () => child.kill() };
}

export function compressor(c: Compression): Codec {
  if (c === 'zstd') return zstdCodec(ZSTD_COMPRESS_ARGS);
  return { stream: createGzip({ level: 6 }), done: Promise.resolve(), kill: () => undefined };
}

export function decompressor(c: Compression): Codec {
  if (c === 'zstd') return zstdCodec(ZSTD_DECOMPRESS_ARGS);
  return { stream: createGunzip(), done: Promise.resolve(), kill: () => undefined };
}

/**
 * Passes bytes through unchanged while hashing (SHA-256) and counting them. `beforeEnd` holds the end of
 * the stream until the producers have exited cleanly: a pg_dump that fails after writing part of its
 * output errors the stream instead of ending it, so the store never publishes a truncated archive.
 */
export class HashMeter extends Transform {
  bytes = 0;
  private readonly hash: Hash = createHash('sha256');

  constructor(private readonly beforeEnd?: () => Promise<unknown>) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    this.hash.update(chunk);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    if (!this.beforeEnd) return cb();
    this.beforeEnd().then(
      () => cb(),
      (err: Error) => cb(err),
    );
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

/** Counts bytes passing through. */
export class ByteCounter extends Transform {
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    cb(null, chunk);
  }
}

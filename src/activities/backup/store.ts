import type { Readable } from 'node:stream';

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

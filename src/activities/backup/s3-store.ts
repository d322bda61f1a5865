import type { Readable } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, NoSuchKey, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { BackupStore } from './store';

export interface S3StoreOptions {
  bucket: string;
  prefix: string;
  region: string;
  endpoint?: string;
  forcePathStyle: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** A request that connects or sends/receives nothing for this long fails (and is retried by the SDK); default 60 s. */
  requestTimeoutMs?: number;
  /** Multipart part size; memory held is about partSize × queueSize. */
  partSize?: number;
  queueSize?: number;
}

/** Any S3-compatible store (AWS S3, R2, MinIO, Supabase Storage); archives go up by streamed multipart upload. */
export class S3Store implements BackupStore {
  readonly client: S3Client;
  readonly description: string;

  constructor(private readonly opts: S3StoreOptions) {
    this.client = new S3Client({
      region: opts.region,
      endpoint: opts.endpoint,
      forcePathStyle: opts.forcePathStyle,
      credentials: opts.credentials,
      // Without these a store that accepts the connection and then goes silent holds a backup forever. The socket
      // timeout is an idle limit, so a long streamed archive is fine as long as bytes keep moving.
      requestHandler: {
        connectionTimeout: Math.min(opts.requestTimeoutMs ?? 60_000, 10_000),
        socketTimeout: opts.requestTimeoutMs ?? 60_000,
      },
    });
    this.description = `s3://${opts.bucket}/${opts.prefix}`;
  }

  private key(key: string): string {
    return `${this.opts.prefix}${key}`;
  }

  locate(key: string): string {
    return `s3://${this.opts.bucket}/${this.key(key)}`;
  }

  async put(key: string, body: Readable, opts: { signal?: AbortSignal } = {}): Promise<void> {
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.opts.bucket, Key: this.key(key), Body: body },
      partSize: this.opts.partSize ?? 8 * 1024 * 1024,
      queueSize: this.opts.queueSize ?? 2,
      // A failed upload aborts its multipart upload: no parts left behind, no object created.
      leavePartsOnError: false,
    });
    // Failing the body (never upload.abort(), which answers before the multipart upload is cleaned up) makes
    // done() reject only after the multipart upload has been aborted: nothing is left behind.
    const abort = () => body.destroy(opts.signal?.reason instanceof Error ? opts.signal.reason : new Error('backup upload aborted'));
    opts.signal?.addEventListener('abort', abort, { once: true });
    try {
      await upload.done();
    } finally {
      opts.signal?.removeEventListener('abort', abort);
    }
  }

  async putText(key: string, text: string): Promise<void> {
    await this.client.send(
      new PutObjectCommand({ Bucket: this.opts.bucket, Key: this.key(key), Body: text, ContentType: 'application/json' }),
    );
  }

  async get(key: string): Promise<Readable> {
    const res = await this.client.send(new GetObjectCommand({ Bucket: this.opts.bucket, Key: this.key(key) }));
    return res.Body as Readable;
  }

  async getText(key: string): Promise<string | undefined> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.opts.bucket, Key: this.key(key) }));
      return await res.Body!.transformToString('utf8');
    } catch (err) {
      if (err instanceof NoSuchKey || (err as { name?: string }).name === 'NoSuchKey') return undefined;
      throw err;
    }
  }

  async size(key: string): Promise<number | undefined> {
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.opts.bucket, Key: this.key(key) }));
      return res.ContentLength;
    } catch (err) {
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404) return undefined;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.opts.bucket, Key: this.key(key) }));
  }
}

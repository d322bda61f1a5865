import type { RunbookConfig } from '../../config/schema';
import { secretFromEnv } from '../../config/load';
import { DirectoryStore } from './directory-store';
import type { BackupStore } from './store';

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
    requestTimeoutMs: config.requestTimeout,
    credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined,
  });
}

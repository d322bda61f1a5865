import type { Pool } from 'pg';
import type { BackupManifest, BackupTrigger, RestorePlan, VerifyBackupResult } from '../../workflows/backup/contract';
import type { Compression } from './streams';

/** A row of the `backups` table, as activities and the CLI see it. */
export interface BackupRecord {
  id: string;
  database: string;
  workflowId: string;
  trigger: BackupTrigger;
  requestedBy: string;
  reason: string | null;
  status: 'running' | 'completed' | 'failed' | 'deleted';
  attempt: number;
  store: string;
  objectKey: string;
  manifestKey: string;
  compression: Compression | null;
  sizeBytes: number | null;
  sha256: string | null;
  serverVersion: string | null;
  pgDumpVersion: string | null;
  startedAt: string;
  completedAt: string | null;
  error: string | null;
  verificationStatus: 'passed' | 'failed' | null;
  verifiedAt: string | null;
  deletedAt: string | null;
  deletedReason: string | null;
}

const COLUMNS = `id, database, workflow_id, trigger, requested_by, reason, status, attempt, store, object_key, manifest_key,
  compression, size_bytes, sha256, server_version, pg_dump_version, started_at, completed_at, error,
  verification_status, verified_at, deleted_at, deleted_reason`;

interface Row {
  id: string;
  database: string;
  workflow_id: string;
  trigger: BackupTrigger;
  requested_by: string;
  reason: string | null;
  status: BackupRecord['status'];
  attempt: number;
  store: string;
  object_key: string;
  manifest_key: string;
  compression: Compression | null;
  size_bytes: string | null;
  sha256: string | null;
  server_version: string | null;
  pg_dump_version: string | null;
  started_at: Date;
  completed_at: Date | null;
  error: string | null;
  verification_status: 'passed' | 'failed' | null;
  verified_at: Date | null;
  deleted_at: Date | null;
  deleted_reason: string | null;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function toRecord(r: Row): BackupRecord {
  return {
    id: r.id,
    database: r.database,
    workflowId: r.workflow_id,
    trigger: r.trigger,
    requestedBy: r.requested_by,
    reason: r.reason,
    status: r.status,
    attempt: r.attempt,
    store: r.store,
    objectKey: r.object_key,
    manifestKey: r.manifest_key,
    compression: r.compression,
    sizeBytes: r.size_bytes === null ? null : Number(r.size_bytes),
    sha256: r.sha256,
    serverVersion: r.server_version,
    pgDumpVersion: r.pg_dump_version,
    startedAt: r.started_at.toISOString(),
    completedAt: iso(r.completed_at),
    error: r.error,
    verificationStatus: r.verification_status,
    verifiedAt: iso(r.verified_at),
    deletedAt: iso(r.deleted_at),
    deletedReason: r.deleted_reason,
  };
}

export class BackupCatalogue {
  constructor(private readonly ops: Pool) {}

  /**
   * Records the start of an attempt. A backup that already completed (its activity finished but the
   * result was lost to a crash) is returned as it is, so a retry never dumps twice.
   */
  async begin(b: {
    id: string;
    database: string;
    workflowId: string;
    trigger: BackupTrigger;
    requestedBy: string;
    reason?: string;
    store: string;
    objectKey: string;
    manifestKey: string;
    compression: Compression;
  }): Promise<BackupRecord> {
    const { rows } = await this.ops.query<Row>(
      `INSERT INTO backups (id, database, workflow_id, trigger, requested_by, reason, status, store, object_key, manifest_key, compression)
       VALUES ($1, $2, $3, $4, $5, $6, 'running', $7, $8, $9, $10)
       ON CONFLICT (id) DO UPDATE
         SET status = 'running', attempt = backups.attempt + 1, started_at = now(), error = NULL,
             store = EXCLUDED.store, object_key = EXCLUDED.object_key, manifest_key = EXCLUDED.manifest_key,
             compression = EXCLUDED.compression
         WHERE backups.status <> 'completed'
       RETURNING ${COLUMNS}`,
      [b.id, b.database, b.workflowId, b.trigger, b.requestedBy, b.reason ?? null, b.store, b.objectKey, b.manifestKey, b.compression],
    );
    if (rows[0]) return toRecord(rows[0]);
    return (await this.get(b.id))!;
  }

  async complete(id: string, m: BackupManifest): Promise<BackupRecord> {
    const { rows } = await this.ops.query<Row>(
      `UPDATE backups SET status = 'completed', completed_at = $2, size_bytes = $3, sha256 = $4, server_version = $5,
              pg_dump_version = $6, compression = $7, manifest = $8, error = NULL
        WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, m.finishedAt, m.sizeBytes, m.sha256, m.serverVersion, m.pgDumpVersion, m.compression, JSON.stringify(m)],
    );
    return toRecord(rows[0]);
  }

  async fail(id: string, error: string): Promise<void> {
    await this.ops.query(`UPDATE backups SET status = 'failed', error = $2 WHERE id = $1 AND status = 'running'`, [
      id,
      error.slice(0, 4000),
    ]);
  }

  async get(id: string): Promise<BackupRecord | undefined> {
    const { rows } = await this.ops.query<Row>(`SELECT ${COLUMNS} FROM backups WHERE id = $1`, [id]);
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  async latestCompleted(database?: string): Promise<BackupRecord | undefined> {
    const { rows } = await this.ops.query<Row>(
      `SELECT ${COLUMNS} FROM backups WHERE status = 'completed' AND ($1::text IS NULL OR database = $1)
        ORDER BY completed_at DESC LIMIT 1`,
      [database ?? null],
    );
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  /** The newest completed backup of `database` that passed verification and was taken before `before`. */
  async latestVerifiedBefore(database: string, before: Date): Promise<BackupRecord | undefined> {
    const { rows } = await this.ops.query<Row>(
      `SELECT ${COLUMNS} FROM backups
        WHERE status = 'completed' AND verification_status = 'passed' AND database = $1 AND started_at < $2
        ORDER BY started_at DESC LIMIT 1`,
      [database, before],
    );
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  async list(opts: { database?: string; limit?: number; includeDeleted?: boolean } = {}): Promise<BackupRecord[]> {
    const { rows } = await this.ops.query<Row>(
      `SELECT ${COLUMNS} FROM backups
        WHERE ($1::text IS NULL OR database = $1) AND ($2 OR status <> 'deleted')
        ORDER BY started_at DESC LIMIT $3`,
      [opts.database ?? null, opts.includeDeleted ?? false, opts.limit ?? 50],
    );
    return rows.map(toRecord);
  }

  async manifest(id: string): Promise<BackupManifest | undefined> {
    const { rows } = await this.ops.query<{ manifest: BackupManifest | null }>('SELECT manifest FROM backups WHERE id = $1', [id]);
    return rows[0]?.manifest ?? undefined;
  }

  async recordVerification(id: string, result: VerifyBackupResult): Promise<void> {
    await this.ops.query(`UPDATE backups SET verification_status = $2, verified_at = now(), verification = $3 WHERE id = $1`, [
      id,
      result.ok ? 'passed' : 'failed',
      JSON.stringify(result),
    ]);
  }

  async markDeleted(id: string, reason: string): Promise<void> {
    await this.ops.query(`UPDATE backups SET status = 'deleted', deleted_at = now(), deleted_reason = $2 WHERE id = $1`, [id, reason]);
  }

  async beginRestore(r: {
    id: string;
    kind: 'backup' | 'pitr';
    target: string;
    backupId?: string;
    pitrTarget?: string;
    requestedBy: string;
    reason?: string;
    /** What was shown before the confirmation. */
    plan?: RestorePlan;
    allowUnverified?: boolean;
  }): Promise<void> {
    await this.ops.query(
      `INSERT INTO restores (id, kind, target, backup_id, pitr_target, requested_by, reason, status, plan, allow_unverified)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 'running', $8, $9)
       ON CONFLICT (id) DO NOTHING`,
      [
        r.id,
        r.kind,
        r.target,
        r.backupId ?? null,
        r.pitrTarget ?? null,
        r.requestedBy,
        r.reason ?? null,
        r.plan ? JSON.stringify(r.plan) : null,
        r.allowUnverified ?? false,
      ],
    );
  }

  /** The recorded verification of a backup (its checks), if any ran. */
  async verification(id: string): Promise<VerifyBackupResult | undefined> {
    const { rows } = await this.ops.query<{ verification: VerifyBackupResult | null }>('SELECT verification FROM backups WHERE id = $1', [
      id,
    ]);
    return rows[0]?.verification ?? undefined;
  }

  /**
   * The point-in-time request of a restore: `sent` is written before the request goes out, then
   * `accepted` (201) or `refused` (an answer that says nothing happened). Returns the state before this call.
   */
  async pitrRequest(id: string): Promise<'sent' | 'accepted' | 'refused' | null | undefined> {
    const { rows } = await this.ops.query<{ pitr_request: 'sent' | 'accepted' | 'refused' | null }>(
      'SELECT pitr_request FROM restores WHERE id = $1',
      [id],
    );
    return rows[0] ? rows[0].pitr_request : undefined;
  }

  async markPitrRequest(id: string, state: 'sent' | 'accepted' | 'refused'): Promise<void> {
    await this.ops.query(
      `UPDATE restores SET pitr_request = $2, pitr_requested_at = CASE WHEN $2 = 'sent' THEN now() ELSE pitr_requested_at END WHERE id = $1`,
      [id, state],
    );
  }

  async finishRestore(
    id: string,
    f: { status: 'completed' | 'failed' | 'not-confirmed'; confirmedBy?: string; preRestoreBackupId?: string; detail?: unknown },
  ): Promise<void> {
    await this.ops.query(
      `UPDATE restores SET status = $2, confirmed_by = coalesce($3, confirmed_by), pre_restore_backup_id = coalesce($4, pre_restore_backup_id),
              detail = $5, finished_at = now() WHERE id = $1`,
      [id, f.status, f.confirmedBy ?? null, f.preRestoreBackupId ?? null, f.detail === undefined ? null : JSON.stringify(f.detail)],
    );
  }
}

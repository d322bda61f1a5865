import { childEnv } from '../../host/child-env';
import { Context, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { connect } from '../../db/connect';
import type { ActivityDeps } from '../deps';
import { invalidInput as invalid } from '../../workflows/common/failures';
import { hashStoredObject, readArchive } from './archive';
import { BackupCatalogue, type BackupRecord } from './catalogue';
import { startDump } from './dump';
import { pgTools, splitPassword, withSessionSettings } from './pg-tools';
import { decideRetention } from '../../workflows/backup/retention';
import { createBackupStore } from './open-store';
import type { BackupStore } from './store';
import { chooseCompression, extensionOf, startChild, type Compression } from './streams';
import { compareTableStats, parallelTableStats } from './table-stats';
import {
  planFrom,
  type BackupListing,
  type BackupManifest,
  type BackupPlan,
  type BackupResult,
  type BackupTrigger,
  type BackupVerificationState,
  type RestorePlan,
  type RetentionResult,
  type TableMismatch,
  type TransferProgress,
  type VerifyBackupResult,
} from '../../workflows/backup/contract';
import { quoteIdent, urlForDatabase } from '../../db/sql';
import { callPlatform } from '../../platforms/activity-errors';
import { PlatformError } from '../../platforms/errors';
import { pollUntil } from '../../platforms/poll';
import type { PlatformClients } from '../../platforms/types';

export type BackupDeps = Pick<ActivityDeps, 'config' | 'ops' | 'databaseUrl' | 'env'> & {
  /** Chat for notices; the Supabase Management API for point-in-time recovery. */
  platforms?: Pick<PlatformClients, 'slack' | 'telegram' | 'supabase'>;
};

export interface DumpRequest {
  backupId: string;
  database: string;
  workflowId: string;
  trigger: BackupTrigger;
  requestedBy: string;
  reason?: string;
}

/** A catalogue entry as workflows see it. */
export interface BackupSummary {
  backupId: string;
  database: string;
  status: BackupRecord['status'];
  startedAt: string;
  sizeBytes: number | null;
  verificationStatus: BackupRecord['verificationStatus'];
}

type Check = VerifyBackupResult['checks'][number];

const summary = (r: BackupRecord): BackupSummary => ({
  backupId: r.id,
  database: r.database,
  status: r.status,
  startedAt: r.startedAt,
  sizeBytes: r.sizeBytes,
  verificationStatus: r.verificationStatus,
});

/** Object and manifest keys: `<database>/<backup id>.dump.<zst|gz>` and `<database>/<backup id>.manifest.json`. */
export function backupKeys(database: string, backupId: string, compression: Compression) {
  return { objectKey: `${database}/${backupId}.dump.${extensionOf(compression)}`, manifestKey: `${database}/${backupId}.manifest.json` };
}

/** Connections checking tables at once (one snapshot): the largest table still takes one, the rest run beside it. */
const TABLE_CHECK_CONNECTIONS = 3;
/**
 * The scratch restore's session: index builds sort in memory instead of on disk, and nothing waits for
 * WAL flushes (a scratch database that a crash loses is simply restored again).
 */
const SCRATCH_RESTORE_SETTINGS = { maintenance_work_mem: '256MB', synchronous_commit: 'off' };
/** pg_amcheck relations checked at once (a large table's heap and its indexes are separate jobs). */
const AMCHECK_JOBS = 2;

/** The sha256 check: the stored object's hash against the manifest's and the catalogue's. */
function shaCheck(sha: string | undefined, manifest: BackupManifest, r: BackupRecord): Check {
  const expected = manifest.sha256;
  const ok = sha === expected && r.sha256 === expected;
  return {
    name: 'sha256',
    ok,
    detail: ok
      ? `sha256 ${expected} matches the manifest`
      : `sha256 of the stored object is ${sha ?? 'unreadable'}, the manifest says ${expected}${r.sha256 !== expected ? ` and the catalogue ${r.sha256}` : ''}`,
  };
}

const archiveReadCheck = (bytes: number): Check => ({
  name: 'archive',
  ok: true,
  detail: `pg_restore read ${bytes} stored bytes to the end`,
});
const archiveUnreadCheck = (message: string): Check => ({
  name: 'archive',
  ok: false,
  detail: `the archive does not read to its end: ${message}`,
});
const scratchRestoreFailedCheck = (message: string): Check => ({
  name: 'restore',
  ok: false,
  detail: `pg_restore into a scratch database failed: ${message}`,
});

const notFound = (message: string) => ApplicationFailure.create({ type: 'BackupNotFound', nonRetryable: true, message });

/**
 * Heartbeats once a second with the progress of a long transfer, so a killed worker is noticed within
 * the heartbeat timeout and the CLI can show bytes and rate. Cancellation arrives through the heartbeat.
 */
async function withProgress<T>(
  phase: string,
  bytes: () => number,
  work: (signal: AbortSignal) => Promise<T>,
  tables?: () => TransferProgress['tables'],
): Promise<T> {
  const ctx = Context.current();
  const started = Date.now();
  const beat = () => {
    const elapsedMs = Date.now() - started;
    const b = bytes();
    const t = tables?.();
    const progress: TransferProgress = {
      phase,
      bytes: b,
      rate: elapsedMs > 0 ? Math.round((b * 1000) / elapsedMs) : 0,
      elapsedMs,
      ...(t ? { tables: t } : {}),
    };
    ctx.heartbeat(progress);
  };
  beat();
  const timer = setInterval(beat, 1000);
  try {
    return await work(ctx.cancellationSignal);
  } finally {
    clearInterval(timer);
  }
}

/**
 * The stored object's SHA-256 read on its own, after pg_restore stopped short: it tells a damaged archive
 * from a failing server. Undefined when the object cannot be read either.
 */
async function hashOnItsOwn(s: BackupStore, objectKey: string): Promise<string | undefined> {
  const out = await withProgress(
    'hash',
    () => 0,
    (signal) => hashStoredObject(s, objectKey, signal),
  ).catch(() => undefined);
  return out?.sha256;
}

/** Where a backup is restored for a look inside: `backup.verifyServerUrlEnv` when set, else the backed-up database's own server. */
export function scratchServerUrl(deps: Pick<ActivityDeps, 'config' | 'databaseUrl' | 'env'>, database: string, scratch: string): string {
  const base = deps.config.backup.verifyServerUrlEnv ? deps.env[deps.config.backup.verifyServerUrlEnv] : undefined;
  return urlForDatabase(base ?? deps.databaseUrl(database), scratch);
}

export function createBackupActivities(deps: BackupDeps) {
  const catalogue = new BackupCatalogue(deps.ops);
  let cachedStore: Promise<BackupStore> | undefined;
  const store = () => (cachedStore ??= createBackupStore(deps.config.backup.store, deps.env));
  const tools = () => pgTools(deps.config.backup.pgBinDir, deps.env);

  const databaseUrl = (database: string) => {
    if (!deps.config.databases[database]) {
      throw invalid(`database: no database "${database}" under databases in the configuration`);
    }
    return deps.databaseUrl(database);
  };

  const supabase = () => {
    if (!deps.platforms)
      throw ApplicationFailure.create({
        type: 'NotConfigured',
        nonRetryable: true,
        message: 'the worker has no platform clients (Supabase Management API)',
      });
    return deps.platforms.supabase;
  };

  async function record(backupId: string): Promise<BackupRecord> {
    const r = await catalogue.get(backupId);
    if (!r) throw notFound(`no backup "${backupId}" in the catalogue`);
    return r;
  }

  /** The manifest stored beside the archive: the reference a verification or restore checks against. */
  async function storedManifest(r: BackupRecord): Promise<BackupManifest> {
    const s = await store();
    const text = await s.getText(r.manifestKey);
    if (!text) throw notFound(`backup "${r.id}" has no manifest at ${s.locate(r.manifestKey)}`);
    return JSON.parse(text) as BackupManifest;
  }

  /**
   * Counts (and md5s where the manifest has them) of the manifest's tables in a restored database, on
   * several connections sharing one snapshot. `progress` counts the tables done, for the heartbeat: a
   * large database takes minutes here, and a silent activity would be taken for a dead worker.
   */
  function statsOf(url: string, manifest: BackupManifest, progress: { done: number }, signal: AbortSignal) {
    return parallelTableStats(url, {
      signal,
      md5MaxRows: deps.config.backup.md5MaxRows,
      tables: manifest.tables.map((t) => t.table),
      md5For: new Set(manifest.tables.filter((t) => t.md5 !== undefined).map((t) => t.table)),
      onTable: () => void progress.done++,
      connections: TABLE_CHECK_CONNECTIONS,
    });
  }

  /** pg_amcheck over every table and index of the (scratch) database, where pg_amcheck is installed. */
  async function amcheck(pgAmcheck: string, url: string): Promise<Check> {
    const { url: plain, password } = splitPassword(url);
    const child = startChild(pgAmcheck, ['--install-missing', '--heapallindexed', `--jobs=${AMCHECK_JOBS}`, '--no-password', plain], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: childEnv({ PGPASSWORD: password }),
    });
    let out = '';
    child.process.stdout!.on('data', (c: Buffer) => void (out = (out + c.toString()).slice(-4000)));
    try {
      await child.exited;
      return { name: 'amcheck', ok: true, detail: 'pg_amcheck found no corruption' };
    } catch (err) {
      return { name: 'amcheck', ok: false, detail: `pg_amcheck: ${out.trim() || (err as Error).message}` };
    }
  }

  async function verificationOf(r: BackupRecord): Promise<BackupVerificationState> {
    if (!r.verificationStatus) return { status: 'never' };
    const state: BackupVerificationState = { status: r.verificationStatus, verifiedAt: r.verifiedAt ?? undefined };
    if (r.verificationStatus === 'failed') {
      const failed = (await catalogue.verification(r.id))?.checks.filter((c) => !c.ok) ?? [];
      state.detail = failed.map((c) => `${c.name}: ${c.detail}`).join('; ') || 'no detail recorded';
    }
    return state;
  }

  async function adminQuery(url: string, sql: string): Promise<void> {
    const client = await connect(url, 'runbook-verify');
    try {
      await client.query(sql);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  const scratchUrl = (database: string, scratch: string) => scratchServerUrl({ ...deps, databaseUrl }, database, scratch);

  async function notify(text: string): Promise<{ delivered: string[] }> {
    const delivered: string[] = [];
    const chats = deps.platforms;
    if (chats?.slack.configured) {
      await chats.slack.post({ text }).then(
        () => delivered.push('slack'),
        (err: Error) => log.warn('slack notice failed', { error: err.message }),
      );
    }
    if (chats?.telegram.configured) {
      await chats.telegram.sendMessage(text).then(
        () => delivered.push('telegram'),
        (err: Error) => log.warn('telegram notice failed', { error: err.message }),
      );
    }
    if (!delivered.length) log.info('backup notice (no chat delivered it)', { text });
    return { delivered };
  }

  return {
    /** The plan every backup workflow loads first (the name predates BackupPlan and stays for replay). */
    async backupSettings(): Promise<BackupPlan> {
      return planFrom(deps.config);
    },

    /**
     * Dumps a database into the store and catalogues it. The catalogue row turns `completed` only after
     * the archive and its manifest are stored; a killed attempt leaves it `running` and the retry redoes it.
     */
    async dumpBackup(req: DumpRequest): Promise<BackupResult> {
      const url = databaseUrl(req.database);
      const compression = chooseCompression(deps.config.backup.compression);
      const { objectKey, manifestKey } = backupKeys(req.database, req.backupId, compression);
      const s = await store();
      const row = await catalogue.begin({ ...req, id: req.backupId, store: s.description, objectKey, manifestKey, compression });
      if (row.status === 'completed') {
        log.info('backup already completed by an earlier attempt', { backupId: req.backupId });
        const m = (await catalogue.manifest(req.backupId))!;
        return resultOf(m, s, 0);
      }
      const startedAt = new Date();
      const dump = startDump({
        url,
        tools: tools(),
        compression,
        store: s,
        objectKey,
        md5MaxRows: deps.config.backup.md5MaxRows,
        signal: Context.current().cancellationSignal,
      });
      try {
        const out = await withProgress(
          'dump (stored bytes)',
          () => dump.progress().storedBytes,
          () => dump.done,
        );
        const manifest: BackupManifest = {
          formatVersion: 1,
          backupId: req.backupId,
          database: req.database,
          databaseName: out.databaseName,
          serverVersion: out.serverVersion,
          pgDumpVersion: out.pgDumpVersion,
          compression,
          objectKey,
          sizeBytes: out.sizeBytes,
          archiveBytes: out.archiveBytes,
          sha256: out.sha256,
          startedAt: startedAt.toISOString(),
          finishedAt: new Date().toISOString(),
          tables: out.tables,
          workflowId: req.workflowId,
          trigger: req.trigger,
          requestedBy: req.requestedBy,
          ...(req.reason ? { reason: req.reason } : {}),
        };
        await s.putText(manifestKey, JSON.stringify(manifest, null, 2));
        await catalogue.complete(req.backupId, manifest);
        log.info('backup completed', { backupId: req.backupId, bytes: out.sizeBytes, tables: out.tables.length });
        return resultOf(manifest, s, Date.now() - startedAt.getTime());
      } catch (err) {
        await catalogue.fail(req.backupId, err instanceof Error ? err.message : String(err));
        throw err;
      }
    },

    /** The catalogue, newest first. */
    async listBackupRecords(req: { database?: string; limit: number; includeDeleted: boolean }): Promise<BackupListing[]> {
      const rows = await catalogue.list(req);
      return rows.map((r) => ({
        backupId: r.id,
        database: r.database,
        status: r.status,
        trigger: r.trigger,
        requestedBy: r.requestedBy,
        startedAt: r.startedAt,
        completedAt: r.completedAt,
        sizeBytes: r.sizeBytes,
        compression: r.compression,
        location: r.store.startsWith('directory:') ? `${r.store.slice('directory:'.length)}/${r.objectKey}` : `${r.store}${r.objectKey}`,
        verificationStatus: r.verificationStatus,
        verifiedAt: r.verifiedAt,
        error: r.error,
        deletedReason: r.deletedReason,
      }));
    },

    /** A backup by id, or the latest completed one (of `database`), or the latest verified before an instant. */
    async findBackup(req: { backupId?: string; database?: string; verifiedBefore?: string }): Promise<BackupSummary> {
      if (req.backupId) {
        const r = await record(req.backupId);
        if (r.status !== 'completed') throw notFound(`backup "${r.id}" is ${r.status}, not completed`);
        return summary(r);
      }
      if (req.verifiedBefore) {
        const r = await catalogue.latestVerifiedBefore(req.database!, new Date(req.verifiedBefore));
        if (!r) throw notFound(`no verified backup of "${req.database}" taken before ${req.verifiedBefore}`);
        return summary(r);
      }
      const r = await catalogue.latestCompleted(req.database);
      if (!r) throw notFound(`no completed backup${req.database ? ` of "${req.database}"` : ''} to verify`);
      return summary(r);
    },

    /**
     * Re-hashes the stored object and reads the whole archive through pg_restore into /dev/null, in one pass.
     * Checks: the manifest's SHA-256 (and the catalogue's), and that the archive reads to its end.
     */
    async checkBackupArchive(backupId: string): Promise<{ checks: Check[]; manifestTables: number }> {
      const r = await record(backupId);
      const manifest = await storedManifest(r);
      const checks: Check[] = [];
      const s = await store();
      const read = readArchive({
        store: s,
        objectKey: r.objectKey,
        compression: manifest.compression,
        tools: tools(),
        target: { kind: 'null' },
      });
      let sha: string | undefined;
      try {
        const out = await withProgress('read archive', read.bytes, () => read.done);
        sha = out.sha256;
        checks.push(archiveReadCheck(out.bytes));
      } catch (err) {
        checks.push(archiveUnreadCheck((err as Error).message));
        sha = await hashOnItsOwn(s, r.objectKey);
      }
      checks.unshift(shaCheck(sha, manifest, r));
      return { checks, manifestTables: manifest.tables.length };
    },

    /**
     * Restores the backup into a fresh scratch database, compares its tables with the manifest and runs
     * pg_amcheck where installed, beside the table checks. With `checkArchive` the same pass over the
     * stored object also gives the sha256 and full-read checks (no separate read of the archive). The
     * scratch database is dropped before returning, whatever happened, unless `keep` asks for a checked
     * copy to read from (the data-loss playbook's copy-back; it drops it with dropScratchDatabase).
     */
    async restoreBackupIntoScratch(req: {
      backupId: string;
      scratchDatabase: string;
      checkArchive?: boolean;
      keep?: boolean;
    }): Promise<{ checks: Check[]; mismatches: TableMismatch[] }> {
      const r = await record(req.backupId);
      const manifest = await storedManifest(r);
      const url = scratchUrl(r.database, req.scratchDatabase);
      const admin = urlForDatabase(url, 'postgres');
      const checks: Check[] = [];
      let mismatches: TableMismatch[] = [];
      const t = tools();
      try {
        await adminQuery(admin, `DROP DATABASE IF EXISTS ${quoteIdent(req.scratchDatabase)} WITH (FORCE)`);
        await adminQuery(admin, `CREATE DATABASE ${quoteIdent(req.scratchDatabase)}`);
        const s = await store();
        const read = readArchive({
          store: s,
          objectKey: r.objectKey,
          compression: manifest.compression,
          tools: t,
          target: { kind: 'database', url: withSessionSettings(url, SCRATCH_RESTORE_SETTINGS), clean: false },
        });
        try {
          const out = await withProgress('restore into scratch', read.bytes, () => read.done);
          if (req.checkArchive) {
            checks.push(shaCheck(out.sha256, manifest, r));
            checks.push(archiveReadCheck(out.bytes));
          }
          checks.push({ name: 'restore', ok: true, detail: `restored into scratch database ${req.scratchDatabase}` });
        } catch (err) {
          const message = (err as Error).message;
          if (!req.checkArchive) {
            checks.push(scratchRestoreFailedCheck(message));
            return { checks, mismatches };
          }
          // Archive or server? The hash says whether the stored bytes are those the dump wrote.
          const sha256 = shaCheck(await hashOnItsOwn(s, r.objectKey), manifest, r);
          checks.push(sha256);
          checks.push(sha256.ok ? scratchRestoreFailedCheck(message) : archiveUnreadCheck(message));
          return { checks, mismatches };
        }

        // Counts and md5s beside pg_amcheck: both mostly wait on reading the same tables.
        const progress = { done: 0 };
        const [actual, amchecked] = await withProgress(
          'check tables',
          () => 0,
          (signal) => Promise.all([statsOf(url, manifest, progress, signal), t.pgAmcheck ? amcheck(t.pgAmcheck, url) : undefined]),
          () => ({ done: progress.done, total: manifest.tables.length }),
        );
        mismatches = compareTableStats(manifest.tables, actual);
        const countMismatches = mismatches.filter((m) => m.actualRows !== m.expectedRows);
        const md5Mismatches = mismatches.filter((m) => m.expectedMd5 !== undefined && m.actualMd5 !== m.expectedMd5);
        const md5Tables = manifest.tables.filter((x) => x.md5 !== undefined).length;
        checks.push({
          name: 'row-counts',
          ok: countMismatches.length === 0,
          detail: countMismatches.length
            ? `${countMismatches.length} of ${manifest.tables.length} tables differ: ${countMismatches.map((m) => `${m.table} ${m.actualRows ?? 'missing'}≠${m.expectedRows}`).join(', ')}`
            : `${manifest.tables.length} tables match`,
        });
        checks.push({
          name: 'md5',
          ok: md5Mismatches.length === 0,
          detail: md5Mismatches.length
            ? `${md5Mismatches.length} of ${md5Tables} tables differ: ${md5Mismatches.map((m) => m.table).join(', ')}`
            : `${md5Tables} tables match`,
        });
        if (amchecked) checks.push(amchecked);
        return { checks, mismatches };
      } finally {
        const restored = checks.some((c) => c.name === 'restore' && c.ok);
        if (!req.keep || !restored)
          await adminQuery(admin, `DROP DATABASE IF EXISTS ${quoteIdent(req.scratchDatabase)} WITH (FORCE)`).catch((err: Error) =>
            log.warn('could not drop the scratch database; the workflow drops it again', {
              scratch: req.scratchDatabase,
              error: err.message,
            }),
          );
      }
    },

    /** Idempotent: drops the verification's scratch database if it still exists. */
    async dropScratchDatabase(req: { backupId: string; scratchDatabase: string }): Promise<void> {
      const r = await record(req.backupId);
      await adminQuery(
        urlForDatabase(scratchUrl(r.database, req.scratchDatabase), 'postgres'),
        `DROP DATABASE IF EXISTS ${quoteIdent(req.scratchDatabase)} WITH (FORCE)`,
      );
    },

    async recordBackupVerification(result: VerifyBackupResult): Promise<void> {
      await catalogue.recordVerification(result.backupId, result);
    },

    /**
     * Applies `backup.retention` to one database's backups. Never deletes the newest verified backup, nor
     * any backup without a newer verified one. Every deletion is logged and kept in the catalogue.
     */
    async applyBackupRetention(database: string): Promise<RetentionResult> {
      const rows = (await catalogue.list({ database, limit: 100_000 })).filter((r) => r.status === 'completed' || r.status === 'failed');
      const decision = decideRetention(
        rows.map((r) => ({
          id: r.id,
          status: r.status as 'completed' | 'failed',
          startedAt: r.startedAt,
          verified: r.verificationStatus === 'passed',
          onDemand: r.trigger !== 'schedule',
        })),
        { ...deps.config.backup.retention, timeZone: deps.config.timezone },
      );
      const byId = new Map(rows.map((r) => [r.id, r]));
      const s = await store();
      for (const d of decision.remove) {
        const r = byId.get(d.id)!;
        await s.delete(r.objectKey);
        await s.delete(r.manifestKey);
        await catalogue.markDeleted(r.id, d.reason);
        log.info('backup deleted by retention', { backupId: r.id, database, reason: d.reason, location: s.locate(r.objectKey) });
        Context.current().heartbeat();
      }
      return { kept: decision.keep.map((k) => k.id), deleted: decision.remove.map((d) => ({ backupId: d.id, reason: d.reason })) };
    },

    /**
     * What a restore would do, and the name that must be typed to confirm it: the target database's real name.
     * An explicit backup whose verification failed or never ran is refused unless `allowUnverified` with a reason.
     */
    async planRestore(req: {
      into: string;
      backupId?: string;
      before?: string;
      from?: string;
      allowUnverified?: boolean;
      reason?: string;
    }): Promise<RestorePlan> {
      const url = databaseUrl(req.into);
      let r: BackupRecord | undefined;
      let verification: BackupVerificationState = { status: 'never' };
      if (req.backupId) {
        r = await record(req.backupId);
        if (r.status !== 'completed') throw notFound(`backup "${r.id}" is ${r.status}, not completed`);
        verification = await verificationOf(r);
        if (verification.status !== 'passed' && !(req.allowUnverified && req.reason?.trim())) {
          throw ApplicationFailure.create({
            type: 'BackupNotVerified',
            nonRetryable: true,
            message:
              (verification.status === 'failed'
                ? `backup "${r.id}" failed its verification on ${verification.verifiedAt} (${verification.detail}); `
                : `backup "${r.id}" has never been verified; `) +
              `restore a verified backup (runbook backup list, or --before), verify this one first (runbook backup verify --backup ${r.id}), ` +
              `or accept it with --allow-unverified --reason "…", which is recorded with the restore`,
          });
        }
      } else {
        const before = req.before ? new Date(req.before) : new Date();
        r = await catalogue.latestVerifiedBefore(req.from ?? req.into, before);
        if (!r) throw notFound(`no verified backup of "${req.from ?? req.into}" taken before ${before.toISOString()}`);
        verification = await verificationOf(r);
      }
      const client = await connect(url, 'runbook-restore');
      try {
        const { rows } = await client.query<{ db: string }>('SELECT current_database() AS db');
        return {
          confirmName: rows[0].db,
          target: req.into,
          backupId: r.id,
          backupTakenAt: r.startedAt,
          backupAgeMs: Date.now() - Date.parse(r.startedAt),
          backupSizeBytes: r.sizeBytes ?? undefined,
          backupVerification: verification,
          ...(verification.status !== 'passed' && req.reason ? { unverifiedReason: req.reason } : {}),
        };
      } finally {
        await client.end().catch(() => undefined);
      }
    },

    /** pg_restore --clean --if-exists --no-owner --exit-on-error in one transaction, streamed from the store. */
    async restoreBackupInto(req: { backupId: string; into: string }): Promise<{ bytes: number }> {
      const r = await record(req.backupId);
      const manifest = await storedManifest(r);
      const read = readArchive({
        store: await store(),
        objectKey: r.objectKey,
        compression: manifest.compression,
        tools: tools(),
        target: { kind: 'database', url: databaseUrl(req.into), clean: true },
      });
      const out = await withProgress('restore', read.bytes, () => read.done);
      if (out.sha256 !== manifest.sha256) {
        // The transaction has committed by now; say so plainly rather than hide it.
        throw ApplicationFailure.create({
          type: 'BackupChecksumMismatch',
          nonRetryable: true,
          message: `restored ${req.into} from backup ${r.id}, but the stored object's sha256 ${out.sha256} differs from the manifest's ${manifest.sha256}`,
        });
      }
      return { bytes: out.bytes };
    },

    /** Row counts (and md5s) of the restored database against the backup's manifest. */
    async compareRestoredDatabase(req: { backupId: string; into: string }): Promise<TableMismatch[]> {
      const manifest = await storedManifest(await record(req.backupId));
      const progress = { done: 0 };
      const actual = await withProgress(
        'compare tables',
        () => 0,
        (signal) => statsOf(databaseUrl(req.into), manifest, progress, signal),
        () => ({ done: progress.done, total: manifest.tables.length }),
      );
      return compareTableStats(manifest.tables, actual);
    },

    /** Checks the recovery target against the project's PITR window; the ref is what must be typed to confirm. */
    async planPitrRestore(req: { projectRef?: string; to: string }): Promise<RestorePlan> {
      const ref = req.projectRef ?? deps.config.platforms.supabase.projectRef;
      if (!ref) throw invalid('projectRef: no project ref given and platforms.supabase.projectRef is not configured');
      const backups = await callPlatform(() => supabase().listBackups(ref));
      if (!backups.pitr_enabled) {
        throw invalid(
          `point-in-time recovery is not enabled for project ${ref}; restore a backup instead (runbook restore --before ${req.to} --into …)`,
        );
      }
      const earliest = backups.physical_backup_data.earliest_physical_backup_date_unix;
      const latest = backups.physical_backup_data.latest_physical_backup_date_unix;
      const to = Date.parse(req.to) / 1000;
      if (earliest == null || latest == null)
        throw invalid(`project ${ref} reports no PITR window yet; try again later or restore a backup`);
      const window = { earliest: new Date(earliest * 1000).toISOString(), latest: new Date(latest * 1000).toISOString() };
      if (to < earliest || to > latest)
        throw invalid(`to: ${req.to} is outside the PITR window of project ${ref} (${window.earliest} … ${window.latest})`);
      return { confirmName: ref, target: ref, pitr: { to: new Date(to * 1000).toISOString(), ...window } };
    },

    /**
     * Asks Supabase for the restore, at most once per restore: the request is recorded as `sent` before it
     * goes out, then `accepted` or `refused`. A retry after an accepted request, or after a request whose
     * answer never came (a timeout, a 5xx, a killed worker), never sends another: a second restore would
     * throw away everything written since the first. It finds the restore under way (RESTORING) and lets
     * the wait follow it, or says plainly that it cannot tell. Supabase has no idempotency key for this call.
     */
    async startPitrRestore(req: { projectRef: string; to: string; restoreId?: string }): Promise<{ requested: boolean }> {
      const earlier = req.restoreId ? await catalogue.pitrRequest(req.restoreId) : null;
      if (earlier === 'accepted') return { requested: false };
      const project = await callPlatform(() => supabase().getProject(req.projectRef));
      if (project.status === 'RESTORING' || project.status === 'COMING_UP') {
        if (req.restoreId && earlier === 'sent') await catalogue.markPitrRequest(req.restoreId, 'accepted');
        return { requested: false };
      }
      if (earlier === 'sent') {
        throw ApplicationFailure.create({
          type: 'PitrRequestUnconfirmed',
          nonRetryable: true,
          message:
            `an earlier attempt asked Supabase to restore project ${req.projectRef} to ${req.to} and got no answer; the project is ` +
            `${project.status} with no restore under way, so it cannot be told whether that restore ran. No second request was sent ` +
            `(it would discard everything written since the first): check the project's restores in the Supabase dashboard and ` +
            `start a new restore only if none happened`,
        });
      }
      if (req.restoreId) await catalogue.markPitrRequest(req.restoreId, 'sent');
      await callPlatform(async () => {
        try {
          await supabase().restorePitr(Math.floor(Date.parse(req.to) / 1000), req.projectRef);
        } catch (err) {
          // A 4xx (429 included) says nothing happened, so the request may go again; anything else may have landed.
          const status = err instanceof PlatformError ? err.status : undefined;
          if (req.restoreId && status !== undefined && status < 500) await catalogue.markPitrRequest(req.restoreId, 'refused');
          throw err;
        }
      });
      if (req.restoreId) await catalogue.markPitrRequest(req.restoreId, 'accepted');
      log.info('point-in-time restore requested', { projectRef: req.projectRef, to: req.to });
      return { requested: true };
    },

    /** Polls the project (heartbeating) until ACTIVE_HEALTHY or RESTORE_FAILED. */
    async waitForPitrRestore(req: { projectRef: string; pollIntervalMs: number; timeoutMs: number }): Promise<string> {
      const final = await callPlatform(() =>
        pollUntil(
          { platform: 'supabase', endpoint: 'GET /v1/projects/{ref}', description: `restore of project ${req.projectRef}` },
          () => supabase().getProject(req.projectRef),
          (p) => p.status === 'ACTIVE_HEALTHY' || p.status === 'RESTORE_FAILED',
          { intervalMs: req.pollIntervalMs, timeoutMs: req.timeoutMs },
          (p) => ({ phase: `project ${p.status}`, bytes: 0, rate: 0, elapsedMs: 0 }),
        ),
      );
      return final.status;
    },

    async recordRestoreStart(req: Omit<Parameters<BackupCatalogue['beginRestore']>[0], 'id'> & { restoreId: string }): Promise<void> {
      await catalogue.beginRestore({ id: req.restoreId, ...req });
    },

    /** Posts to every configured chat; a notice that cannot be delivered is logged, never fails the run. */
    async notifyBackupEvent(text: string): Promise<{ delivered: string[] }> {
      return notify(text);
    },

    /** A failed verification or restore: raised as an alert so on-call hears of it. */
    async reportBackupProblem(p: {
      database: string;
      backupId?: string;
      summary: string;
      details: string[];
    }): Promise<{ delivered: string[] }> {
      log.error(p.summary, { database: p.database, backupId: p.backupId, details: p.details });
      return notify(`:warning: ${p.summary}\n${p.details.map((d) => `• ${d}`).join('\n')}`);
    },

    async recordRestoreEnd(req: {
      restoreId: string;
      status: 'completed' | 'failed' | 'not-confirmed';
      confirmedBy?: string;
      preRestoreBackupId?: string;
      detail?: unknown;
    }): Promise<void> {
      await catalogue.finishRestore(req.restoreId, req);
    },
  };
}

export type BackupActivities = ReturnType<typeof createBackupActivities>;

function resultOf(m: BackupManifest, s: BackupStore, durationMs: number): BackupResult {
  return {
    backupId: m.backupId,
    database: m.database,
    location: s.locate(m.objectKey),
    sizeBytes: m.sizeBytes,
    sha256: m.sha256,
    compression: m.compression,
    tables: m.tables.length,
    durationMs,
  };
}

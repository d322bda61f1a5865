import { isCancellation } from '@temporalio/workflow';
import { messageOf } from '../common';
import { quick } from './proxies';

/**
 * Raises an alert through the same path as every other alert (opens or joins the incident of its dedup
 * key); when that path is not available, the problem goes to chat instead of nowhere.
 */
export async function raiseBackupAlert(p: { database: string; backupId?: string; summary: string; details: string[] }): Promise<void> {
  try {
    await quick.raiseAlerts([
      {
        source: 'backup',
        dedupKey: `backup-${p.database}`,
        fingerprint: p.backupId ?? p.database,
        status: 'firing',
        severity: 'P2',
        summary: p.summary,
        description: p.details.join('\n'),
        labels: { database: p.database, ...(p.backupId ? { backup_id: p.backupId } : {}) },
        customerFacing: false,
      },
    ]);
  } catch (err) {
    if (isCancellation(err)) throw err;
    await quick.reportBackupProblem({ ...p, details: [...p.details, `(alert not raised: ${messageOf(err)})`] });
  }
}

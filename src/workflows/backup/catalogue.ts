import { parseInput } from '../common';
import { backupCatalogueInput, type BackupCatalogueInput, type BackupListing } from './contract';
import { quick } from './proxies';

/** The backup catalogue, read by the worker (which holds the ops database credentials) for `runbook backup list`. */
export async function backupCatalogue(raw: BackupCatalogueInput): Promise<BackupListing[]> {
  const input = parseInput(backupCatalogueInput, raw);
  return quick.listBackupRecords(input);
}

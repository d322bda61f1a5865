import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Custom search attributes every run of this service carries, so the Temporal UI can filter by them,
 * e.g. `RunbookKind = "incident" AND RunbookStatus = "open"`.
 */
export const RunbookKind = defineSearchAttributeKey('RunbookKind', SearchAttributeType.KEYWORD);
export const RunbookService = defineSearchAttributeKey('RunbookService', SearchAttributeType.KEYWORD);
export const RunbookSeverity = defineSearchAttributeKey('RunbookSeverity', SearchAttributeType.KEYWORD);
export const RunbookStatus = defineSearchAttributeKey('RunbookStatus', SearchAttributeType.KEYWORD);
export const RunbookStage = defineSearchAttributeKey('RunbookStage', SearchAttributeType.KEYWORD);

/** name → CLI type, for `temporal server start-dev --search-attribute` and `operator search-attribute create`. */
export const CUSTOM_SEARCH_ATTRIBUTES: Record<string, 'Keyword' | 'Text' | 'Int' | 'Double' | 'Bool' | 'Datetime'> = {
  RunbookKind: 'Keyword',
  RunbookService: 'Keyword',
  RunbookSeverity: 'Keyword',
  RunbookStatus: 'Keyword',
  RunbookStage: 'Keyword',
};

/** Every workflow type this service runs; `RunbookKind` holds one of these. */
export const WORKFLOW_KINDS = [
  'incident',
  'deploy',
  'rollback',
  'backup',
  'verifyBackup',
  'restore',
  'healthCheck',
  'maintenance',
  'selfCheck',
] as const;
export type WorkflowKind = (typeof WORKFLOW_KINDS)[number];

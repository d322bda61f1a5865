import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { CliError, EXIT } from './exit-codes';

/** A page of runs and how many match in all: the total comes from Temporal's count API, not from the page. */
export interface Listed<T> {
  total: number;
  items: T[];
}

/** Runs per visibility page. */
const PAGE = 100;

/** Up to `limit` runs matching `query` (every one without a limit, page by page), and the total that match. */
export async function listRuns<T>(
  client: Client,
  query: string,
  map: (info: WorkflowExecutionInfo) => T,
  limit?: number,
): Promise<Listed<T>> {
  const { count } = await client.workflow.count(query);
  const items: T[] = [];
  if (limit === undefined || limit > 0) {
    for await (const info of client.workflow.list({ query, pageSize: Math.min(limit ?? PAGE, PAGE) })) {
      items.push(map(info));
      if (limit !== undefined && items.length >= limit) break;
    }
  }
  // Visibility moves while we page: never claim fewer than we list.
  return { total: Math.max(count, items.length), items };
}

/** `--limit <n>`: a positive integer, or undefined when not given. */
export function parseLimit(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const limit = Number(raw);
  if (!Number.isInteger(limit) || limit < 1) throw new CliError(EXIT.USAGE, `--limit: must be a positive integer, got "${raw}"`);
  return limit;
}

/** "showing N of M" when a list stops short of the total. */
export const shownOf = (shown: number, total: number) => (shown < total ? `showing ${shown} of ${total}; --limit shows more` : undefined);

import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { selfCheckInput, type SelfCheckInput, type SelfCheckResult } from '../shared/self-check';
import { parseInput } from './common/failures';

const { recordSelfCheck } = proxyActivities<Activities>({ startToCloseTimeout: '30s', retry: { maximumAttempts: 5 } });

/** Proves the stack end to end: a durable run whose activity writes to the ops database. */
export async function selfCheck(raw: SelfCheckInput): Promise<SelfCheckResult> {
  const input = parseInput(selfCheckInput, raw);
  return recordSelfCheck(input.requestedBy);
}

import { proxyActivities } from '@temporalio/workflow';
import type { SelfCheckActivities } from '../../activities/self-check';
import { parseInput } from '../common';
import { selfCheckInput, type SelfCheckInput, type SelfCheckResult } from './contract';

const quick = proxyActivities<SelfCheckActivities>({ startToCloseTimeout: '30s', retry: { maximumAttempts: 5 } });

/** Proves the stack end to end: a durable run whose activity writes to the ops database. */
export async function selfCheck(raw: SelfCheckInput): Promise<SelfCheckResult> {
  const input = parseInput(selfCheckInput, raw);
  return quick.recordSelfCheck(input.requestedBy);
}

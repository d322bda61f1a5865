import { CancellationScope, condition, isCancellation, setHandler } from '@temporalio/workflow';
import { parseInput, publish } from '../common';
import { confirmRestoreUpdate, restoreConfirmation, restoreStatusQuery, type RestoreStatus } from './contract';
import { quick } from './proxies';

/**
 * The typed confirmation every restore waits for: an update whose validator accepts only the exact name
 * of what will be overwritten (the database's real name, or the Supabase project ref). A wrong or missing
 * name is rejected before it reaches history; no answer within the timeout ends the run, nothing touched.
 */
export function confirmationGate(what: 'database' | 'project') {
  const status: RestoreStatus = { stage: 'planning' };
  let confirmed = false;
  setHandler(restoreStatusQuery, () => status);
  setHandler(
    confirmRestoreUpdate,
    (raw) => {
      status.confirmedBy = parseInput(restoreConfirmation, raw, 'confirmation').by;
      confirmed = true;
      return status;
    },
    {
      validator: (raw) => {
        const c = parseInput(restoreConfirmation, raw, 'confirmation');
        if (status.stage === 'planning') throw new Error('the restore is still being planned; confirm again in a moment');
        if (status.stage !== 'awaiting-confirmation')
          throw new Error(`the restore is already ${status.stage}; there is nothing to confirm`);
        if (c.confirm !== status.plan!.confirmName) {
          const noun = what === 'database' ? 'the target database' : 'the project being restored';
          throw new Error(`confirm: "${c.confirm}" does not name ${noun}; type "${status.plan!.confirmName}" to overwrite it`);
        }
      },
    },
  );
  const stage = (s: RestoreStatus['stage'], searchStatus?: string) => {
    status.stage = s;
    publish({ stage: s, status: searchStatus });
  };
  return {
    status,
    stage,
    /** Waits for the confirmation; false (recorded as not-confirmed) when none came in time. */
    async confirmed(restoreId: string, timeout: number): Promise<boolean> {
      stage('awaiting-confirmation');
      try {
        if (await condition(() => confirmed, timeout)) return true;
      } catch (err) {
        if (isCancellation(err)) {
          stage('not-confirmed', 'cancelled');
          await CancellationScope.nonCancellable(() =>
            quick.recordRestoreEnd({ restoreId, status: 'not-confirmed', detail: { reason: 'cancelled' } }),
          );
        }
        throw err;
      }
      stage('not-confirmed', 'not-confirmed');
      await quick.recordRestoreEnd({ restoreId, status: 'not-confirmed', detail: { reason: 'no confirmation in time' } });
      return false;
    },
  };
}

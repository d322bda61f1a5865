import { Context } from '@temporalio/activity';

/** The running activity's context, or undefined when called outside an activity (CLI, tests). */
export function currentActivity(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

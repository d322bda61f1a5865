/**
 * What workflows, activities, the worker and clients share: task queues, search-attribute keys,
 * message definitions and the zod schemas of workflow inputs. One file per capability, re-exported here.
 */
export * from '../workflows/common';
export * from './self-check';
export * from './incident';
export * from './backup';
export * from './deploy';
export * from './maintenance';

/**
 * What every capability's workflows share, once: task queues, search-attribute keys, the alert
 * contract, severities, durations, business hours, failures, publishing, activity option presets.
 */
export * from './task-queues';
export * from './search-attributes';
export * from './severity';
export * from './duration';
export * from './business-hours';
export * from './alerts';
export * from './failures';
export * from './publish';
export * from './activity-options';

import { z } from 'zod';

/** Incident severities, most urgent first. The configuration and every alert use this one list. */
export const severity = z.enum(['P0', 'P1', 'P2', 'P3']);
export type Severity = z.infer<typeof severity>;

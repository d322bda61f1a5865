import { defineQuery, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import { durationMs } from '../common';

/**
 * Emergency Procedures 2, Security Incident (response < 2 minutes): the `securityPlaybook` workflow. Scope the
 * compromise, preserve the evidence before anything is cleaned (and hold the cleanup off those tables while the
 * playbook is open), disable the suspect accounts once approved (in the app's users table and, where the Supabase
 * project is configured, banned through Supabase Auth's admin API; undoable), list what must be revoked or blocked by
 * hand, and notify. The playbook stays open, holding the evidence, until it is closed.
 */

const person = z.string().trim().min(1, 'must name who acts').max(200);

/** The sample apps' request logs, application log and audit trail; those that exist in the database are used. */
export const DEFAULT_EVIDENCE_TABLES = ['api_logs', 'javari_logs', 'audit_logs', 'ai_query_logs'];

export const securityInput = z
  .object({
    /** Key of `databases` in the configuration: the app database holding users, logs and audit rows. */
    database: z.string().regex(/^[A-Za-z0-9_-]{1,63}$/, 'must be a key of `databases` in the configuration'),
    incidentId: z.string().min(1).max(300).optional(),
    /** Suspect accounts (users.id). */
    userIds: z.array(z.string().min(1).max(100)).max(1000).default([]),
    /** Suspect source addresses. */
    ips: z
      .array(z.union([z.ipv4(), z.ipv6()]))
      .max(1000)
      .default([]),
    /** Platform tokens believed leaked, by platform and name (as the platform's console shows it). */
    tokens: z
      .array(
        z.object({
          platform: z.enum(['vercel', 'netlify', 'supabase', 'openai', 'anthropic', 'github']),
          name: z.string().min(1).max(200),
        }),
      )
      .max(100)
      .default([]),
    /** Start of the window to scope and preserve; default: 24 hours before the playbook starts. */
    since: z.iso.datetime({ offset: true }).optional(),
    evidenceTables: z
      .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_.]{0,126}$/, 'must be a table name'))
      .max(50)
      .default(DEFAULT_EVIDENCE_TABLES),
    requestedBy: person,
    reason: z.string().trim().min(1, 'must give a reason').max(2000),
    /** How long disabling the accounts waits for approval before it is skipped. */
    approvalTimeout: durationMs.default(3_600_000),
  })
  .refine((i) => i.userIds.length || i.ips.length || i.tokens.length, {
    message: 'name at least one suspect: userIds, ips or tokens',
    path: ['userIds'],
  });
export type SecurityInput = z.input<typeof securityInput>;

export const securityWorkflowId = (database: string, at: Date) => `security-${database}-${at.toISOString().replace(/[:.]/g, '-')}`;

export interface SecurityScope {
  users: { id: string; email: string | null; blocked: boolean | null; lastSignInAt: string | null }[];
  /** Rows of each existing evidence table in the window: all of them, and those of the suspects (user or address). */
  tables: { table: string; rows: number; suspectRows: number }[];
  /** Addresses the suspect accounts used in the window (audit tables with an address column). */
  addresses: string[];
}

export interface EvidenceObject {
  table: string;
  rows: number;
  sha256: string;
  location: string;
}

export interface SecurityStatus {
  stage: 'scoping' | 'preserving-evidence' | 'awaiting-approval' | 'acting' | 'open' | 'closed' | 'failed';
  steps: { at: string; step: 'scope' | 'evidence' | 'access-control' | 'containment' | 'notify' | 'close'; text: string }[];
  scope?: SecurityScope;
  evidence?: { holdId: string; objects: EvidenceObject[]; manifest: string };
  /** Accounts disabled, with what they were before (for the undo). */
  disabled?: { userId: string; previous: Record<string, unknown> }[];
  /** Accounts banned in Supabase Auth through its admin API (for the undo: the ban lifted). */
  authBanned?: { userId: string; bannedUntil: string | null }[];
  /** Vercel Firewall deny rules this playbook added (for the undo). */
  blocked?: { service: string; rules: { ip: string; ruleId: string }[] };
  /** The approval of the destructive steps (disabling accounts, blocking addresses), and their undo. */
  accessControl?: 'approved' | 'rejected' | 'no-approval' | 'undone';
  /** What the platforms' APIs do not do here: each with the exact console step. */
  checklist: string[];
  error?: string;
}

export const securityDecisionRequest = z
  .object({ action: z.enum(['approve', 'reject', 'undo', 'close']), by: person, comment: z.string().max(2000).optional() })
  .strict();
export type SecurityDecisionRequest = z.input<typeof securityDecisionRequest>;

/**
 * approve / reject disabling the suspect accounts and blocking the addresses (while it waits), undo both (once done),
 * or close the playbook:
 * the evidence hold is released and the cleanup may delete those rows again.
 */
export const securityDecisionUpdate = defineUpdate<SecurityStatus, [SecurityDecisionRequest]>('securityDecision');
export const securityStatusQuery = defineQuery<SecurityStatus>('securityStatus');

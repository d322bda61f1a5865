/** Quarterly Tasks → Security Review and Documentation Update: things only people can do, as tasks in the report. */
export const QUARTERLY_TASKS = [
  'Rotate encryption keys (CREDENTIAL_ENCRYPTION_KEY) and update credentials: platform tokens, API keys, webhook secrets',
  'Review access logs and who has access to Vercel/Netlify, Supabase, the AI providers and this service',
  'Penetration testing',
  'Compliance check',
  'Review AI provider costs and cache hit rates; optimise large tables and indexes (see the slow-query and sequential-scan sections)',
  'Update the runbook, the API documentation and the architecture diagrams',
];

/** Monthly → Security Review (second runbook), the parts that need a person. */
export const MONTHLY_TASKS = [
  'Review and rotate API keys if needed',
  'Review user access patterns',
  'Review monthly costs and user growth',
  'Check that certificate expiry alerts (health check, tlsHosts) cover every public host',
];

export const taskList = (tasks: string[]) => tasks.map((t) => `- [ ] ${t}`).join('\n');

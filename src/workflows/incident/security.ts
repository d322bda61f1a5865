import { condition, log, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { IncidentActivities } from '../../activities/incident';
import { messageOf, parseInput } from '../common';
import { noteToIncident } from './incident-note';
import {
  securityDecisionRequest,
  securityDecisionUpdate,
  securityInput,
  securityStatusQuery,
  type SecurityDecisionRequest,
  type SecurityInput,
  type SecurityStatus,
} from './security-contract';

const quick = proxyActivities<IncidentActivities>({ startToCloseTimeout: '2m', retry: { maximumAttempts: 5 } });
const long = proxyActivities<IncidentActivities>({
  startToCloseTimeout: '1h',
  heartbeatTimeout: '2m',
  retry: { initialInterval: '5s', maximumAttempts: 3 },
});

const DAY = 86_400_000;
/** Supabase Auth's ban_duration for a compromised account: a century, i.e. until someone lifts it (the undo). */
const AUTH_BAN = '876000h';

/** Where each platform's token is revoked by hand: no platform API this project follows revokes one. */
const REVOKE_STEP: Record<string, (name: string) => string> = {
  vercel: (n) => `Vercel dashboard → Account Settings → Tokens → delete "${n}"`,
  netlify: (n) => `Netlify → User settings → Applications → Personal access tokens → revoke "${n}"`,
  supabase: (n) =>
    `Supabase dashboard → Account → Access Tokens → revoke "${n}" (a leaked service_role key: Project Settings → API → roll it)`,
  openai: (n) => `platform.openai.com → API keys → revoke "${n}", then set the new key in production and redeploy`,
  anthropic: (n) => `console.anthropic.com → API Keys → disable "${n}", then set the new key in production and redeploy`,
  github: (n) => `GitHub → Settings → Developer settings → Personal access tokens → delete "${n}"`,
};

/**
 * Emergency Procedures 2, Security Incident, top to bottom: immediate assessment, evidence preservation (before
 * anything is cleaned), access control once approved, containment, communication; then open, holding the evidence,
 * until closed.
 */
export async function securityPlaybook(raw: SecurityInput): Promise<SecurityStatus> {
  const input = parseInput(securityInput, raw);
  const { workflowId } = workflowInfo();
  const st: SecurityStatus = { stage: 'scoping', steps: [], checklist: [] };
  let decision: SecurityDecisionRequest | undefined;
  let closeBy: string | undefined;
  setHandler(securityStatusQuery, () => st);
  setHandler(
    securityDecisionUpdate,
    async (raw) => {
      const d = securityDecisionRequest.parse(raw);
      if (d.action === 'undo') await undoAccessControl(d.by);
      else if (d.action === 'close') {
        closeBy = d.by;
        await condition(() => st.stage === 'closed');
      } else {
        decision = d;
        await condition(() => st.stage !== 'awaiting-approval' && st.stage !== 'acting');
      }
      return st;
    },
    {
      validator: (raw) => {
        const d = parseInput(securityDecisionRequest, raw, 'decision');
        if ((d.action === 'approve' || d.action === 'reject') && st.stage !== 'awaiting-approval')
          throw new Error(`action: nothing waits for approval (the playbook is ${st.stage})`);
        if (d.action === 'undo' && !(st.stage === 'open' && st.accessControl === 'approved'))
          throw new Error('action: undo needs accounts this playbook disabled and has not restored');
        if (d.action === 'close' && st.stage !== 'open')
          throw new Error(`action: the playbook is ${st.stage}; it can be closed once its steps have run`);
      },
    },
  );

  async function step(name: SecurityStatus['steps'][number]['step'], text: string): Promise<void> {
    st.steps.push({ at: new Date().toISOString(), step: name, text });
    log.info(`security ${input.database} [${name}] ${text}`);
    await noteToIncident(input.incidentId, `Security playbook, ${name}: ${text}`);
  }
  async function chat(text: string): Promise<void> {
    await quick
      .postToChat({ chainId: workflowId, effect: `security-${st.steps.length}`, text })
      .catch((err: unknown) => log.warn('chat post failed', { error: messageOf(err) }));
  }

  const since = input.since ?? new Date(Date.now() - DAY).toISOString();
  try {
    // 1. Immediate assessment: who, what, from where.
    const scope = await quick.securityScope({
      database: input.database,
      userIds: input.userIds,
      ips: input.ips,
      since,
      tables: input.evidenceTables,
    });
    st.scope = scope;
    const missing = input.userIds.filter((id) => !scope.users.some((u) => u.id === id));
    await step(
      'scope',
      [
        `since ${since}: ${scope.users.length} suspect account(s)${scope.users.length ? ` (${scope.users.map((u) => `${u.email ?? u.id}, last sign-in ${u.lastSignInAt ?? 'never'}`).join('; ')})` : ''}`,
        ...(missing.length ? [`not found: ${missing.join(', ')}`] : []),
        scope.tables.map((t) => `${t.table} ${t.rows} rows, ${t.suspectRows} of the suspects`).join(', ') || 'no log or audit table',
        ...(scope.addresses.length ? [`addresses used: ${scope.addresses.join(', ')}`] : []),
      ].join('; '),
    );

    // 2. Evidence preservation, before anything is cleaned: held first, then copied with its hash.
    st.stage = 'preserving-evidence';
    const until = new Date().toISOString();
    const ev = await long.preserveEvidence({
      database: input.database,
      holdId: workflowId,
      incidentId: input.incidentId,
      since,
      until,
      tables: input.evidenceTables,
    });
    st.evidence = { holdId: workflowId, ...ev };
    await step(
      'evidence',
      ev.objects.length
        ? `copied ${ev.objects.map((o) => `${o.table} (${o.rows} rows, sha256 ${o.sha256})`).join(', ')} from ${since} to ${until}; manifest ${ev.manifest}; cleanup of ${ev.objects.map((o) => o.table).join(', ')} held until this playbook closes`
        : 'no log or audit table to copy',
    );

    // 3–4. Access control and containment: the suspect accounts disabled and the addresses denied at the edge, once
    // approved (both undoable); tokens, and what the platform's API does not do, go to the checklist.
    for (const t of input.tokens) st.checklist.push(`revoke ${t.platform} token: ${REVOKE_STEP[t.platform](t.name)}`);
    const { service, platform } = await quick.dataLossService({ database: input.database });
    const firewall = service && platform === 'vercel' ? service : undefined;
    const toBlock = firewall ? input.ips : [];
    for (const ip of input.ips.filter((a) => !toBlock.includes(a)))
      st.checklist.push(
        `block ${ip}: Netlify → ${service ?? 'the site'} → Project configuration → Access & security → Traffic rules → block ${ip}`,
      );
    if (scope.users.length || toBlock.length) {
      const what = [
        ...(scope.users.length ? [`disable ${scope.users.map((u) => u.email ?? u.id).join(', ')}`] : []),
        ...(toBlock.length ? [`deny ${toBlock.join(', ')} in the Vercel Firewall of ${firewall}`] : []),
      ].join(' and ');
      st.stage = 'awaiting-approval';
      await chat(
        `:lock: security incident${input.incidentId ? ` ${input.incidentId}` : ''}: ${what}? Approve with the securityDecision update of ${workflowId} (action approve, by)`,
      );
      const answered = await condition(() => decision !== undefined, input.approvalTimeout);
      if (!answered || decision?.action === 'reject') {
        st.accessControl = answered ? 'rejected' : 'no-approval';
        await step('access-control', answered ? `${what}: rejected by ${decision!.by}` : `${what}: no approval in time; nothing changed`);
      } else {
        st.stage = 'acting';
        st.accessControl = 'approved';
        st.disabled = [];
        for (const u of scope.users) {
          const previous = await quick.readUserLimits({ database: input.database, userId: u.id });
          await quick.setUserLimits({
            database: input.database,
            userId: u.id,
            limits: {
              blocked: true,
              blocked_reason: `security incident${input.incidentId ? ` ${input.incidentId}` : ''}: ${input.reason}`.slice(0, 500),
            },
          });
          st.disabled.push({ userId: u.id, previous });
        }
        if (scope.users.length) {
          // Supabase Auth: banned accounts can neither sign in nor refresh their sessions.
          // Supabase Auth: banned accounts can neither sign in nor refresh their sessions. Those banned already stay
          // out of st.authBanned, so the undo never lifts a ban this playbook did not set.
          const ids = scope.users.map((u) => u.id);
          const known = await quick.readAuthBans({ userIds: ids });
          const toBan = ids.filter((id) => known.configured && !known.banned.includes(id) && !known.notFound.includes(id));
          const auth = toBan.length ? await quick.setAuthBans({ userIds: toBan, banDuration: AUTH_BAN }) : { changed: [], notFound: [] };
          st.authBanned = auth.changed;
          const notFound = [...known.notFound, ...auth.notFound];
          for (const u of scope.users.filter((x) => !known.configured || notFound.includes(x.id)))
            st.checklist.push(
              `end the Supabase Auth sessions of ${u.email ?? u.id}${known.configured ? ' (Supabase Auth does not know this id)' : ''}: Supabase dashboard → Authentication → Users → ${u.id} → Ban user`,
            );
          const name = (id: string) => scope.users.find((u) => u.id === id)?.email ?? id;
          const list = (xs: string[]) => xs.map(name).join(', ');
          await step(
            'access-control',
            `approved by ${decision!.by}: blocked ${list(ids)} in users${
              auth.changed.length ? `; banned ${list(auth.changed.map((c) => c.userId))} in Supabase Auth` : ''
            }${known.banned.length ? `; already banned in Supabase Auth: ${list(known.banned)}` : ''}${
              notFound.length ? `; not in Supabase Auth: ${list(notFound)}` : ''
            }`,
          );
        }
        if (toBlock.length) {
          const rules = await quick.blockAddresses({
            service: firewall!,
            ips: toBlock,
            notes: `security incident${input.incidentId ? ` ${input.incidentId}` : ''}: ${input.reason}`,
          });
          st.blocked = { service: firewall!, rules };
          await step(
            'containment',
            `approved by ${decision!.by}: ${rules.map((r) => `${r.ip} denied (rule ${r.ruleId})`).join(', ')} in the Vercel Firewall of ${firewall}`,
          );
        }
      }
    }
    if (scope.addresses.some((a) => !input.ips.includes(a)))
      st.checklist.push(
        `review the other addresses the suspects used: ${scope.addresses.filter((a) => !input.ips.includes(a)).join(', ')}`,
      );

    // 5. Communication.
    st.stage = 'open';
    const summary = `security incident${input.incidentId ? ` ${input.incidentId}` : ''} (${input.reason}): ${st.steps.map((s) => s.step).join(', ')} done; evidence held${st.checklist.length ? `; by hand:\n${st.checklist.map((c) => `• ${c}`).join('\n')}` : ''}`;
    await chat(`:rotating_light: ${summary}`);
    await step('notify', `security contacts told in chat; ${st.checklist.length} checklist item(s)`);
  } catch (err) {
    st.stage = 'failed';
    st.error = messageOf(err);
    await step('notify', `failed: ${st.error}`);
    await chat(`:x: security playbook for ${input.database} failed: ${st.error}`);
    if (st.evidence) await quick.releaseEvidenceHold({ holdId: workflowId });
    throw err;
  }

  // 6. Open until closed: the evidence stays held meanwhile.
  await condition(() => closeBy !== undefined);
  const { released } = await quick.releaseEvidenceHold({ holdId: workflowId });
  st.stage = 'closed';
  await step('close', `closed by ${closeBy}; evidence hold released on ${released} table(s)`);
  return st;

  async function undoAccessControl(by: string): Promise<void> {
    for (const d of st.disabled ?? []) await quick.setUserLimits({ database: input.database, userId: d.userId, limits: d.previous });
    const unbanned = st.authBanned?.length
      ? (await quick.setAuthBans({ userIds: st.authBanned.map((b) => b.userId), banDuration: 'none' })).changed.length
      : 0;
    const removed = st.blocked
      ? (await quick.unblockAddresses({ service: st.blocked.service, ruleIds: st.blocked.rules.map((r) => r.ruleId) })).removed
      : 0;
    st.accessControl = 'undone';
    await step(
      'access-control',
      `undone by ${by}: ${(st.disabled ?? []).length} account(s) restored, ${unbanned} Supabase Auth ban(s) lifted, ${removed} firewall rule(s) removed`,
    );
  }
}

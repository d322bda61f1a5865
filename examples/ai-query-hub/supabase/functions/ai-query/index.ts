// POST /functions/v1/ai-query — the web app's question endpoint. Without a valid JWT: 401 {"code":401,"message":"Invalid JWT"}
// (the runbook's morning check relies on that answer).
import { answer, supabase, type Tier } from '../_shared/query.ts';

Deno.serve(async (req) => {
  const jwt = (req.headers.get('authorization') ?? '').replace(/^Bearer\s+/i, '');
  const { data, error } = await supabase.auth.getUser(jwt);
  if (error || !data.user) return Response.json({ code: 401, message: 'Invalid JWT' }, { status: 401 });
  const { question, tier = 'CHEAP' } = (await req.json()) as { question: string; tier?: Tier };
  try {
    return Response.json({ answer: await answer({ userId: data.user.id, question, tier, functionName: 'ai-query', channel: 'web' }) });
  } catch (err) {
    return Response.json({ error: String(err) }, { status: 502 });
  }
});

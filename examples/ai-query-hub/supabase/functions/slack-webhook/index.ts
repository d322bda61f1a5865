// POST /functions/v1/slack-webhook — Slack Events API: answers url_verification, then app mentions.
import { answer, supabase } from '../_shared/query.ts';

Deno.serve(async (req) => {
  const body = (await req.json()) as {
    type: string;
    challenge?: string;
    event?: { type: string; text: string; user: string; channel: string };
  };
  if (body.type === 'url_verification') return Response.json({ challenge: body.challenge });
  if (body.type !== 'event_callback' || body.event?.type !== 'app_mention') return Response.json({ ok: true });
  const { data: profile } = await supabase.from('profiles').select('id').eq('slack_user_id', body.event.user).maybeSingle();
  const reply = await answer({
    userId: profile?.id ?? null,
    question: body.event.text,
    tier: 'CHEAP',
    functionName: 'slack-webhook',
    channel: 'slack',
  }).catch(() => 'Sorry, I could not answer that right now.');
  await fetch('https://slack.com/api/chat.postMessage', {
    method: 'POST',
    headers: { authorization: `Bearer ${Deno.env.get('SLACK_BOT_TOKEN')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ channel: body.event.channel, text: reply }),
  });
  return Response.json({ ok: true });
});

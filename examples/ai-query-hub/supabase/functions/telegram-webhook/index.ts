// POST /functions/v1/telegram-webhook — Telegram Bot API updates; answers in the chat.
import { answer, supabase } from '../_shared/query.ts';

Deno.serve(async (req) => {
  const secret = Deno.env.get('TELEGRAM_WEBHOOK_SECRET');
  if (secret && req.headers.get('x-telegram-bot-api-secret-token') !== secret) return new Response('forbidden', { status: 403 });
  const update = (await req.json()) as { message?: { text?: string; chat?: { id: number } } };
  const text = update.message?.text;
  const chatId = update.message?.chat?.id;
  if (!text || chatId === undefined) return Response.json({ ok: true }); // nothing to answer (e.g. the runbook's test message)
  const { data: profile } = await supabase.from('profiles').select('id').eq('telegram_chat_id', String(chatId)).maybeSingle();
  const reply = await answer({
    userId: profile?.id ?? null,
    question: text,
    tier: 'FAST',
    functionName: 'telegram-webhook',
    channel: 'telegram',
  }).catch(() => 'Sorry, I could not answer that right now.');
  await fetch(`https://api.telegram.org/bot${Deno.env.get('TELEGRAM_BOT_TOKEN')}/sendMessage`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ chat_id: chatId, text: reply }),
  });
  return Response.json({ ok: true });
});

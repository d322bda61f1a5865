// Shared by the AI Query Hub Edge Functions (Deno): one model call, logged to ai_query_logs.
import { createClient } from 'https://esm.sh/@supabase/supabase-js@2';

export const supabase = createClient(Deno.env.get('SUPABASE_URL')!, Deno.env.get('SUPABASE_SERVICE_ROLE_KEY')!);

const TIERS = {
  CHEAP: { provider: 'anthropic', model: 'claude-3-haiku', per1k: 0.00125 },
  FAST: { provider: 'openrouter', model: 'meta-llama/llama-3-8b-instruct', per1k: 0.0002 },
  SMART: { provider: 'anthropic', model: 'claude-3-5-sonnet', per1k: 0.015 },
} as const;

export type Tier = keyof typeof TIERS;

export async function answer(args: {
  userId: string | null;
  question: string;
  tier: Tier;
  functionName: string;
  channel: 'web' | 'telegram' | 'slack';
}): Promise<string> {
  const started = Date.now();
  const { provider, model, per1k } = TIERS[args.tier];
  let status = 200;
  let error: string | null = null;
  let text = '';
  let usage = { input_tokens: 0, output_tokens: 0 };
  try {
    const res = await fetch(
      provider === 'anthropic' ? 'https://api.anthropic.com/v1/messages' : 'https://openrouter.ai/api/v1/chat/completions',
      {
        method: 'POST',
        headers:
          provider === 'anthropic'
            ? { 'x-api-key': Deno.env.get('ANTHROPIC_API_KEY')!, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' }
            : { authorization: `Bearer ${Deno.env.get('OPENROUTER_API_KEY')}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model, max_tokens: 1024, messages: [{ role: 'user', content: args.question }] }),
      },
    );
    if (!res.ok) throw new Error(`${provider} answered ${res.status}`);
    const body = await res.json();
    text = provider === 'anthropic' ? body.content[0].text : body.choices[0].message.content;
    usage = provider === 'anthropic' ? body.usage : { input_tokens: body.usage.prompt_tokens, output_tokens: body.usage.completion_tokens };
  } catch (err) {
    status = 502;
    error = String(err);
  }
  const tokens = usage.input_tokens + usage.output_tokens;
  await supabase.from('ai_query_logs').insert({
    user_id: args.userId,
    function_name: args.functionName,
    channel: args.channel,
    provider,
    model,
    model_tier: args.tier,
    status,
    latency_ms: Date.now() - started,
    prompt_tokens: usage.input_tokens,
    completion_tokens: usage.output_tokens,
    tokens,
    cost: (tokens / 1000) * per1k,
    error,
  });
  if (error) throw new Error(error);
  return text;
}

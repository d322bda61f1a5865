import { z } from 'zod';

/** Slack incoming webhook: JSON `{text, blocks?}` → 200 with the text body `ok`. */
export const slackMessageBody = z.object({ text: z.string().min(1), blocks: z.array(z.unknown()).optional() });
export const slackWebhookResult = z.literal('ok');

/** Telegram Bot API POST /bot<token>/sendMessage. */
export const telegramSendMessageBody = z.object({
  chat_id: z.union([z.string(), z.number()]),
  text: z.string().min(1),
  parse_mode: z.enum(['MarkdownV2', 'Markdown', 'HTML']).optional(),
});

export const telegramMessage = z.object({
  message_id: z.number(),
  date: z.number().optional(),
  chat: z.object({ id: z.number() }).optional(),
});

export const telegramOk = z.object({ ok: z.literal(true), result: telegramMessage });
export const telegramFailure = z.object({
  ok: z.literal(false),
  error_code: z.number(),
  description: z.string(),
  parameters: z.object({ retry_after: z.number().optional(), migrate_to_chat_id: z.number().optional() }).optional(),
});
export const telegramResponse = z.discriminatedUnion('ok', [telegramOk, telegramFailure]);
export type TelegramMessage = z.infer<typeof telegramMessage>;

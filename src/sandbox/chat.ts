import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isRecord, params } from './world';

/** Slack incoming webhooks and Telegram's sendMessage (contracts/platforms.md), recording what they receive. */

export interface SlackMessage {
  /** Webhook path after /slack, e.g. /services/T…/B…/…. */
  hook: string;
  text?: string;
  blocks?: unknown[];
  body: Record<string, unknown>;
  time: number;
}

export class SlackSandbox {
  readonly messages: SlackMessage[] = [];
  /** Webhook paths answering 404 no_service, like a revoked URL. */
  readonly revoked = new Set<string>();

  dump(): { messages: SlackMessage[]; revoked: string[] } {
    return { messages: this.messages, revoked: [...this.revoked] };
  }

  load(state: { messages: SlackMessage[]; revoked: string[] }): void {
    this.messages.splice(0, this.messages.length, ...state.messages);
    this.revoked.clear();
    for (const h of state.revoked) this.revoked.add(h);
  }

  plugin = async (app: FastifyInstance): Promise<void> => {
    app.post('/*', (req, reply) => {
      const hook = '/' + (params(req)['*'] ?? '');
      const text = (s: string, status = 400) => reply.code(status).type('text/plain; charset=utf-8').send(s);
      if (this.revoked.has(hook)) return text('no_service', 404);
      let body: unknown = req.body;
      // Slack also takes form posts with the JSON in `payload`.
      if (
        isRecord(body) &&
        typeof body.payload === 'string' &&
        req.headers['content-type']?.startsWith('application/x-www-form-urlencoded')
      ) {
        try {
          body = JSON.parse(body.payload);
        } catch {
          return text('invalid_payload');
        }
      }
      if (!isRecord(body)) return text('invalid_payload');
      const hasText = typeof body.text === 'string' && body.text.trim() !== '';
      const hasBlocks = Array.isArray(body.blocks) && body.blocks.length > 0;
      if (body.blocks !== undefined && !Array.isArray(body.blocks)) return text('invalid_blocks');
      if (!hasText && !hasBlocks) return text('no_text');
      this.messages.push({
        hook,
        text: hasText ? (body.text as string) : undefined,
        blocks: hasBlocks ? (body.blocks as unknown[]) : undefined,
        body,
        time: Date.now(),
      });
      return text('ok', 200);
    });
  };
}

export interface TelegramMessage {
  message_id: number;
  chat_id: string | number;
  text: string;
  parse_mode?: string;
  body: Record<string, unknown>;
  time: number;
}

const TOKEN = /^(\d+):[A-Za-z0-9_-]+$/;

/** The first character MarkdownV2 would reject unescaped, outside link targets. */
function markdownV2Problem(text: string): string | undefined {
  const stripped = text.replace(/\\[\s\S]/g, '').replace(/\]\([^)]*\)/g, ']');
  const bad = stripped.match(/[.!\-=+#|{}()]/);
  return bad?.[0];
}

export class TelegramSandbox {
  readonly messages: TelegramMessage[] = [];
  /** Bot tokens answering 401 Unauthorized, like a revoked token. */
  readonly revokedTokens = new Set<string>();
  private nextId = 100;

  dump(): { messages: TelegramMessage[]; revokedTokens: string[]; nextId: number } {
    return { messages: this.messages, revokedTokens: [...this.revokedTokens], nextId: this.nextId };
  }

  load(state: { messages: TelegramMessage[]; revokedTokens: string[]; nextId: number }): void {
    this.messages.splice(0, this.messages.length, ...state.messages);
    this.revokedTokens.clear();
    for (const t of state.revokedTokens) this.revokedTokens.add(t);
    this.nextId = state.nextId;
  }

  plugin = async (app: FastifyInstance): Promise<void> => {
    const fail = (reply: import('fastify').FastifyReply, code: number, description: string) =>
      reply.code(code).send({ ok: false, error_code: code, description });
    const checkToken = (req: FastifyRequest) => {
      const token = params(req).token;
      if (!TOKEN.test(token)) return 404;
      if (this.revokedTokens.has(token)) return 401;
      return 0;
    };

    app.all('/bot:token/getMe', (req, reply) => {
      const bad = checkToken(req);
      if (bad) return fail(reply, bad, bad === 404 ? 'Not Found' : 'Unauthorized');
      const id = Number(TOKEN.exec(params(req).token)![1]);
      return reply.send({ ok: true, result: { id, is_bot: true, first_name: 'Runbook Bot', username: 'runbook_bot' } });
    });

    app.post('/bot:token/sendMessage', (req, reply) => {
      const bad = checkToken(req);
      if (bad) return fail(reply, bad, bad === 404 ? 'Not Found' : 'Unauthorized');
      const b = isRecord(req.body) ? req.body : {};
      const chatId = b.chat_id;
      if (chatId === undefined || chatId === '' || chatId === null) return fail(reply, 400, 'Bad Request: chat_id is empty');
      if (typeof chatId !== 'string' && typeof chatId !== 'number') return fail(reply, 400, 'Bad Request: chat not found');
      if (typeof b.text !== 'string' || b.text.trim() === '') return fail(reply, 400, 'Bad Request: message text is empty');
      if (b.text.length > 4096) return fail(reply, 400, 'Bad Request: message is too long');
      const mode = b.parse_mode;
      if (mode !== undefined && !['HTML', 'Markdown', 'MarkdownV2'].includes(mode as string))
        return fail(reply, 400, 'Bad Request: unsupported parse_mode');
      if (mode === 'MarkdownV2') {
        const c = markdownV2Problem(b.text);
        if (c)
          return fail(
            reply,
            400,
            `Bad Request: can't parse entities: Character '${c}' is reserved and must be escaped with the preceding '\\'`,
          );
      }
      const message_id = ++this.nextId;
      const numericChat = typeof chatId === 'number' ? chatId : /^-?\d+$/.test(chatId) ? Number(chatId) : -1_000_000_000_000 - this.nextId;
      const date = Math.floor(Date.now() / 1000);
      this.messages.push({
        message_id,
        chat_id: chatId,
        text: b.text,
        parse_mode: mode as string | undefined,
        body: structuredClone(b),
        time: Date.now(),
      });
      const botId = Number(TOKEN.exec(params(req).token)![1]);
      return reply.send({
        ok: true,
        result: {
          message_id,
          from: { id: botId, is_bot: true, first_name: 'Runbook Bot', username: 'runbook_bot' },
          chat: { id: numericChat, type: numericChat < 0 ? 'supergroup' : 'private', ...(numericChat < 0 ? { title: 'Operations' } : {}) },
          date,
          text: b.text,
        },
      });
    });
  };
}

import type { RunbookConfig } from '../config/schema';
import { classifyStatus } from './classify';
import { notConfigured } from './errors';
import { PlatformHttp } from './http';
import { slackWebhookResult, telegramResponse } from './schemas';
import type { SlackClient, TelegramClient } from './types';

export function createSlackClient(config: RunbookConfig, env: NodeJS.ProcessEnv): SlackClient {
  const slack = config.notifications.slack;
  const http =
    slack &&
    new PlatformHttp({
      platform: 'slack',
      baseUrl: '',
      timeoutMs: config.platforms.requestTimeout,
      env,
      credential: { env: slack.webhookUrlEnv, noun: 'webhook URL', isBaseUrl: true },
    });
  return {
    configured: http !== undefined,
    async post(message) {
      if (!slack || !http) throw notConfigured('slack', 'POST <webhook URL>', 'not configured: set notifications.slack');
      const revoked = `the webhook URL in ${slack.webhookUrlEnv} was revoked or is wrong: create a new incoming webhook and put its URL there`;
      await http.request({
        method: 'POST',
        path: '',
        body: message,
        read: 'text',
        hints: { 404: revoked, 410: revoked },
        schema: slackWebhookResult,
      });
    },
  };
}

export function createTelegramClient(config: RunbookConfig, env: NodeJS.ProcessEnv): TelegramClient {
  const tg = config.notifications.telegram;
  const http =
    tg &&
    new PlatformHttp({
      platform: 'telegram',
      baseUrl: config.platforms.telegramApiUrl,
      timeoutMs: config.platforms.requestTimeout,
      env,
      credential: { env: tg.botTokenEnv, noun: 'bot token', pathParam: 'token' },
    });
  const endpoint = 'POST /bot{token}/sendMessage';
  return {
    configured: http !== undefined,
    async sendMessage(text, o = {}) {
      if (!tg || !http) throw notConfigured('telegram', endpoint, 'not configured: set notifications.telegram');
      const chatId = o.chatId ?? tg.chatId;
      const answer = await http.request({
        method: 'POST',
        path: '/bot{token}/sendMessage',
        body: { chat_id: chatId, text, parse_mode: o.parseMode },
        resource: `chat ${chatId}`,
        schema: telegramResponse,
      });
      if (answer.ok) return answer.result;
      // An error inside a 2xx answer is classified like the status it names.
      throw classifyStatus({
        platform: 'telegram',
        endpoint,
        status: answer.error_code,
        headers: {},
        body: answer,
        vendorMessage: answer.description,
        credential: { env: tg.botTokenEnv, noun: 'bot token' },
        resource: `chat ${chatId}`,
      });
    },
  };
}

import { secretFromEnv } from '../config/load';
import { portFromEnv, StartError, type Component } from '../stack/components';
import { isPortFree } from '../stack/ports';
import { payloadCodecFromEnv, PAYLOAD_KEY_ENV } from './codec';
import { CODEC_PORT_ENV, CODEC_TOKEN_ENV, codecOrigins, DEFAULT_CODEC_PORT, startCodecServer } from './codec-server';

/** `npm start`'s codec server, when payloads are encrypted: the Temporal UI and CLI decode through it. */
export const codecServer: Component = {
  name: 'codec-server',
  async start(stack) {
    const { env, log } = stack;
    const codec = payloadCodecFromEnv(env);
    if (!codec) return; // payloads are not encrypted: nothing to decode
    const token = secretFromEnv(CODEC_TOKEN_ENV, env);
    if (!token) {
      log.warn(
        { component: 'codec-server' },
        `${PAYLOAD_KEY_ENV} is set but ${CODEC_TOKEN_ENV} is not: no codec server, so the Temporal UI shows payloads encrypted`,
      );
      return;
    }
    const port = portFromEnv(env, CODEC_PORT_ENV, DEFAULT_CODEC_PORT);
    if (!(await isPortFree(port, '127.0.0.1')))
      throw new StartError(`port ${port} (codec server) is in use: set ${CODEC_PORT_ENV} to another port`);
    const ui = stack.temporal?.uiUrl ? new URL(stack.temporal.uiUrl) : undefined;
    const origins = codecOrigins(env, ui ? [`http://localhost:${ui.port}`, `http://127.0.0.1:${ui.port}`] : []);
    const server = await startCodecServer({
      codec,
      token,
      origins,
      port,
      host: '127.0.0.1',
      logger: log.child({ component: 'codec-server' }),
    });
    return {
      banner: [['codec server', `${server.url}/{decode,encode} (bearer ${CODEC_TOKEN_ENV}; UI origins ${origins.join(', ') || 'none'})`]],
      stop: () => server.stop(),
    };
  },
};

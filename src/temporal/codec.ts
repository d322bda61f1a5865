import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { ConfigError } from '../config/load';

/** Metadata `encoding` of an encrypted payload, and the metadata naming the key it was encrypted with. */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';

/** The env var holding the key that encrypts (`<key id>:<32 bytes in base64>`), and the one listing retired keys that still decrypt. */
export const PAYLOAD_KEY_ENV = 'RUNBOOK_PAYLOAD_KEY';
export const PAYLOAD_OLD_KEYS_ENV = 'RUNBOOK_PAYLOAD_OLD_KEYS';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

export interface PayloadKey {
  id: string;
  key: Buffer;
}

/** A missing, malformed or unknown payload key. Never carries key material. */
export class PayloadKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadKeyError';
  }
}

const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null | undefined) => (b ? new TextDecoder().decode(b) : undefined);

/**
 * AES-256-GCM over the whole serialized payload (metadata included, so even the encoding is hidden). The key id
 * rides in the clear metadata and is bound to the ciphertext as associated data; a fresh 96-bit IV per payload.
 * Decoding picks the key by id, so retired keys keep old histories readable while new payloads use `current`.
 */
export class EncryptionCodec implements PayloadCodec {
  private readonly keys = new Map<string, Buffer>();

  constructor(
    readonly current: PayloadKey,
    previous: PayloadKey[] = [],
  ) {
    for (const k of [current, ...previous]) {
      if (k.key.length !== 32) throw new PayloadKeyError(`payload key "${k.id}": must be 32 bytes (AES-256), got ${k.key.length}`);
      this.keys.set(k.id, k.key);
    }
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
      cipher.setAAD(utf8(this.current.id));
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return { metadata: { encoding: utf8(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: utf8(this.current.id) }, data: sealed };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      // Payloads written before encryption was turned on stay readable.
      if (text(payload.metadata?.encoding) !== ENCRYPTED_ENCODING) return payload;
      const id = text(payload.metadata?.[KEY_ID_METADATA]);
      if (!id) throw new PayloadKeyError(`an encrypted payload has no ${KEY_ID_METADATA} metadata`);
      const key = this.keys.get(id);
      if (!key)
        throw new PayloadKeyError(`payload encrypted with key "${id}", which is neither ${PAYLOAD_KEY_ENV} nor in ${PAYLOAD_OLD_KEYS_ENV}`);
      const data = payload.data ?? new Uint8Array();
      if (data.length < IV_BYTES + TAG_BYTES) throw new PayloadKeyError(`encrypted payload (key "${id}") is truncated`);
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAAD(utf8(id));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      let plain: Buffer;
      try {
        plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      } catch {
        throw new PayloadKeyError(`encrypted payload (key "${id}") failed authentication: altered, or another key under that id`);
      }
      return temporal.api.common.v1.Payload.decode(plain) as Payload;
    });
  }
}

const envError = (problem: string) => new ConfigError('environment', [problem]);

/** `<id>:<base64 of 32 bytes>`, or a ConfigError naming `envName` (and never the value). */
export function parsePayloadKey(value: string, envName: string): PayloadKey {
  const colon = value.indexOf(':');
  const id = value.slice(0, colon).trim();
  if (colon <= 0 || !KEY_ID.test(id)) {
    throw envError(`${envName}: expected <key id>:<base64 key>, with a key id of letters, digits, '.', '_' or '-'`);
  }
  const b64 = value.slice(colon + 1).trim();
  const key = Buffer.from(b64, 'base64');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || key.length !== 32) {
    throw envError(`${envName}: key "${id}" must be 32 random bytes in base64 (e.g. \`openssl rand -base64 32\`)`);
  }
  return { id, key };
}

/** The codec from RUNBOOK_PAYLOAD_KEY (+ RUNBOOK_PAYLOAD_OLD_KEYS), or undefined when encryption is off. */
export function payloadCodecFromEnv(env: NodeJS.ProcessEnv = process.env): EncryptionCodec | undefined {
  const current = env[PAYLOAD_KEY_ENV]?.trim();
  const old = (env[PAYLOAD_OLD_KEYS_ENV] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!current) {
    if (old.length) throw envError(`${PAYLOAD_OLD_KEYS_ENV} is set but ${PAYLOAD_KEY_ENV} is not: set the key that encrypts too`);
    return undefined;
  }
  const key = parsePayloadKey(current, PAYLOAD_KEY_ENV);
  const previous = old.map((v) => parsePayloadKey(v, PAYLOAD_OLD_KEYS_ENV));
  const ids = [key.id, ...previous.map((k) => k.id)];
  const dup = ids.find((id, i) => ids.indexOf(id) !== i);
  if (dup) throw envError(`${PAYLOAD_OLD_KEYS_ENV}: key id "${dup}" appears twice; every key needs its own id`);
  return new EncryptionCodec(key, previous);
}

/** The data converter every Temporal client and worker of this service uses: encrypting when a key is configured. */
export function dataConverterFromEnv(env: NodeJS.ProcessEnv = process.env): DataConverter | undefined {
  const codec = payloadCodecFromEnv(env);
  return codec ? { payloadCodecs: [codec] } : undefined;
}

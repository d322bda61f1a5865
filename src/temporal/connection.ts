import { readFileSync } from 'node:fs';
import type { DataConverter } from '@temporalio/common';
import { dataConverterFromEnv } from './codec';

/** How to reach Temporal, from the environment; the embedded stack fills TEMPORAL_ADDRESS itself. */
export interface TemporalTarget {
  address: string;
  namespace: string;
  apiKey?: string;
  tls?: { clientCertPair?: { crt: Buffer; key: Buffer }; serverRootCACertificate?: Buffer } | true;
  /** Payload encryption (RUNBOOK_PAYLOAD_KEY): every client and worker built from this target uses it. */
  dataConverter?: DataConverter;
}

export function temporalTargetFromEnv(env: NodeJS.ProcessEnv = process.env, defaultNamespace = 'default'): TemporalTarget {
  const address = env.TEMPORAL_ADDRESS || '127.0.0.1:7233';
  const namespace = env.TEMPORAL_NAMESPACE || defaultNamespace;
  const apiKey = env.TEMPORAL_API_KEY || undefined;
  let tls: TemporalTarget['tls'];
  if (env.TEMPORAL_TLS_CERT && env.TEMPORAL_TLS_KEY) {
    tls = {
      clientCertPair: { crt: readFileSync(env.TEMPORAL_TLS_CERT), key: readFileSync(env.TEMPORAL_TLS_KEY) },
      ...(env.TEMPORAL_TLS_CA ? { serverRootCACertificate: readFileSync(env.TEMPORAL_TLS_CA) } : {}),
    };
  } else if (apiKey || env.TEMPORAL_TLS === 'true') {
    tls = true;
  }
  return { address, namespace, apiKey, tls, dataConverter: dataConverterFromEnv(env) };
}

/** Options accepted by both Connection.connect and NativeConnection.connect. */
export function connectionOptions(t: TemporalTarget) {
  return {
    address: t.address,
    ...(t.apiKey ? { apiKey: t.apiKey } : {}),
    ...(t.tls === true ? { tls: true } : t.tls ? { tls: t.tls } : {}),
  };
}

/** Options for `new Client(...)` over `connection`: the target's namespace and payload codec. */
export function clientOptions<C>(connection: C, t: TemporalTarget) {
  return { connection, namespace: t.namespace, ...(t.dataConverter ? { dataConverter: t.dataConverter } : {}) };
}

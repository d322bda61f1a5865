import { isIP } from 'node:net';
import tls from 'node:tls';

export interface CertificateInfo {
  host: string;
  port: number;
  validTo: Date;
  daysLeft: number;
  subject: string;
  issuer: string;
  /** Why the chain or the name does not verify, when it does not. */
  untrusted?: string;
  /** `host:port` connected to instead of host:port (maintenance.tlsConnectTo). */
  connectedTo?: string;
}

/** `host` or `host:port` (443 by default). */
export function parseHostPort(entry: string): { host: string; port: number } {
  const [host, port] = entry.split(':');
  return { host, port: port ? Number(port) : 443 };
}

/**
 * Reads the certificate a TLS server presents (Monthly → Security Review: check SSL certificate expiration
 * dates). The handshake accepts any certificate so an expired or untrusted one is still read and reported.
 * With `connectTo` (`host:port`) it connects there instead, still asking for and verifying `entry`'s host name.
 */
export function readCertificate(
  entry: string,
  opts: { timeoutMs: number; ca?: string | Buffer; now?: Date; signal?: AbortSignal; connectTo?: string },
): Promise<CertificateInfo> {
  const { host, port } = parseHostPort(entry);
  const target = opts.connectTo ? parseHostPort(opts.connectTo) : { host, port };
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: target.host,
      port: target.port,
      ...(isIP(host) ? {} : { servername: host }),
      rejectUnauthorized: false,
      ...(opts.ca ? { ca: [...tls.rootCertificates, opts.ca.toString()] } : {}),
    });
    const fail = (err: Error) => {
      socket.destroy();
      reject(err);
    };
    const onAbort = () => fail(new Error('cancelled'));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    socket.setTimeout(opts.timeoutMs, () => fail(new Error(`no TLS handshake within ${opts.timeoutMs} ms`)));
    socket.once('error', fail);
    socket.once('secureConnect', () => {
      opts.signal?.removeEventListener('abort', onAbort);
      const cert = socket.getPeerCertificate();
      if (!cert || !cert.valid_to) return fail(new Error('the server presented no certificate'));
      let untrusted = socket.authorized ? undefined : String(socket.authorizationError ?? 'not trusted');
      if (!untrusted) {
        const mismatch = tls.checkServerIdentity(host, cert);
        if (mismatch) untrusted = mismatch.message;
      }
      const validTo = new Date(cert.valid_to);
      const now = opts.now ?? new Date();
      socket.end();
      resolve({
        host,
        port,
        validTo,
        daysLeft: Math.floor((validTo.getTime() - now.getTime()) / 86_400_000),
        subject: String(cert.subject?.CN ?? ''),
        issuer: String(cert.issuer?.CN ?? cert.issuer?.O ?? ''),
        untrusted,
        ...(opts.connectTo ? { connectedTo: `${target.host}:${target.port}` } : {}),
      });
    });
  });
}

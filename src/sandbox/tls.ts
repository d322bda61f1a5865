import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo, Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { generate } from 'selfsigned';

/**
 * The app's TLS endpoint, as the sandbox stands in for it: one TLS port answering for every host name.
 * A local CA (made once per world) signs a leaf certificate per host name asked for (SNI), issued on
 * first use; a handshake without SNI gets the certificate of `localhost` (SAN localhost, 127.0.0.1).
 * Certificates are valid for 90 days and renewed by the sandbox 30 days before they expire, as a
 * hosting platform does; one set through the control API (days left, untrusted) stays as set until
 * set again. The CA and every certificate are part of the world, so a restart serves the same ones.
 */

const DAY_MS = 86_400_000;
/** A fresh certificate's lifetime (Let's Encrypt's, which Vercel and Netlify use). */
export const TLS_VALID_DAYS = 90;
/** Sandbox-managed certificates are renewed once fewer days than this are left. */
const RENEW_BEFORE_DAYS = 30;
const CA_VALID_DAYS = 3650;
const DEFAULT_HOST = 'localhost';
const HOST_NAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

interface Pem {
  key: string;
  cert: string;
}

export interface IssuedCertificate extends Pem {
  /** Signed by a CA nobody trusts (a self-signed leaf) instead of the sandbox CA. */
  untrusted: boolean;
  /** Issued by the sandbox itself (renewed before expiry), not set through the control API. */
  managed: boolean;
}

export interface TlsState {
  ca?: Pem;
  /** The TLS port it last listened on, to listen there again. */
  port?: number;
  hosts: Record<string, IssuedCertificate>;
}

export interface TlsCertificateView {
  host: string;
  validFrom: string;
  validTo: string;
  /** Whole days until validTo (negative once expired), counted the way the health check counts them. */
  daysLeft: number;
  issuer: string;
  trusted: boolean;
  managed: boolean;
  fingerprint256: string;
}

export interface TlsCertificateChange {
  /** The new certificate expires this many days from now (and 12 hours, so the count holds for the day); negative: expired. Default 90. */
  daysLeft?: number;
  /** A self-signed certificate the sandbox CA did not sign. */
  untrusted?: boolean;
}

/** Lower-cased host name, or an error naming what is wrong. */
export function tlsHostName(host: string): string {
  const h = host.trim().toLowerCase().replace(/\.$/, '');
  if (!HOST_NAME.test(h)) throw new Error(`host: "${host}" is not a host name`);
  return h;
}

const isIpv4 = (h: string) => /^\d{1,3}(\.\d{1,3}){3}$/.test(h);

async function issue(host: string, ca: Pem | undefined, change: TlsCertificateChange, now = Date.now()): Promise<Pem> {
  const daysLeft = change.daysLeft ?? TLS_VALID_DAYS;
  const notAfter = new Date(now + daysLeft * DAY_MS + DAY_MS / 2);
  const notBefore = new Date(Math.min(now - 3_600_000, notAfter.getTime() - TLS_VALID_DAYS * DAY_MS));
  const altNames: Array<{ type: 2; value: string } | { type: 7; ip: string }> = isIpv4(host)
    ? [{ type: 7, ip: host }]
    : [{ type: 2, value: host }];
  if (host === DEFAULT_HOST) altNames.push({ type: 7, ip: '127.0.0.1' });
  const pems = await generate([{ name: 'commonName', value: host }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate: notBefore,
    notAfterDate: notAfter,
    ...(ca && !change.untrusted ? { ca } : {}),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}

async function issueCa(now = Date.now()): Promise<Pem> {
  const pems = await generate(
    [
      { name: 'commonName', value: 'Durable Runbooks Sandbox CA' },
      { name: 'organizationName', value: 'Durable Runbooks sandbox' },
    ],
    {
      keyType: 'ec',
      algorithm: 'sha256',
      notBeforeDate: new Date(now - DAY_MS),
      notAfterDate: new Date(now + CA_VALID_DAYS * DAY_MS),
      extensions: [
        { name: 'basicConstraints', cA: true, critical: true },
        { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
      ],
    },
  );
  return { key: pems.private, cert: pems.cert };
}

export function certificateView(host: string, c: IssuedCertificate, now = Date.now()): TlsCertificateView {
  const x = new X509Certificate(c.cert);
  const validTo = new Date(x.validTo);
  return {
    host,
    validFrom: new Date(x.validFrom).toISOString(),
    validTo: validTo.toISOString(),
    daysLeft: Math.floor((validTo.getTime() - now) / DAY_MS),
    issuer:
      x.issuer
        .split('\n')
        .find((l) => l.startsWith('CN='))
        ?.slice(3) ?? x.issuer,
    trusted: !c.untrusted,
    managed: c.managed,
    fingerprint256: x.fingerprint256,
  };
}

export class TlsSandbox {
  private ca?: Pem;
  private savedPort?: number;
  private readonly certs = new Map<string, IssuedCertificate>();
  private readonly contexts = new Map<string, { of: IssuedCertificate; ctx: tls.SecureContext }>();
  /** Issues in flight per host, so concurrent handshakes for a new name share one. */
  private readonly issuing = new Map<string, Promise<IssuedCertificate>>();
  private server?: tls.Server;
  private readonly sockets = new Set<Socket>();
  private tempDir?: string;
  port = 0;
  caFile = '';
  /** Something in the state changed (to save it). */
  onChange?: () => void;

  constructor(private readonly host: string) {}

  dump(): TlsState {
    return { ca: this.ca, port: this.port || this.savedPort, hosts: Object.fromEntries(this.certs) };
  }

  /** A world saved before the sandbox served TLS has no part for it: a CA is made on start. */
  load(state: TlsState | undefined): void {
    this.certs.clear();
    this.contexts.clear();
    this.ca = state?.ca;
    this.savedPort = state?.port;
    for (const [host, c] of Object.entries(state?.hosts ?? {})) this.certs.set(host, c);
  }

  /** `127.0.0.1:<port>`. */
  address(): string {
    return `${this.host}:${this.port}`;
  }

  /**
   * Makes the CA when there is none, writes it to `<dataDir>/ca.pem` (a temporary directory without a
   * data dir) and listens: on `port`, else the port saved with the world when it is free, else any.
   */
  async start(opts: { dataDir?: string; port?: number }): Promise<void> {
    if (!this.ca) {
      this.ca = await issueCa();
      this.changed();
    }
    const dir = opts.dataDir ?? (this.tempDir = mkdtempSync(path.join(os.tmpdir(), 'runbook-sandbox-tls-')));
    mkdirSync(dir, { recursive: true });
    this.caFile = path.join(dir, 'ca.pem');
    writeFileSync(`${this.caFile}.tmp`, this.ca.cert);
    renameSync(`${this.caFile}.tmp`, this.caFile);

    const fallback = await this.certificateFor(DEFAULT_HOST);
    const server = tls.createServer(
      {
        key: fallback.key,
        cert: fallback.cert,
        SNICallback: (name, cb) => {
          let host: string;
          try {
            host = tlsHostName(name);
          } catch {
            return cb(null, undefined); // the default certificate
          }
          this.contextFor(host).then(
            (ctx) => cb(null, ctx),
            (err: Error) => cb(err, undefined),
          );
        },
      },
      (socket) => this.answer(socket),
    );
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    server.on('tlsClientError', () => undefined); // a client that gave up mid-handshake
    const listen = (port: number) =>
      new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, this.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    try {
      await listen(opts.port ?? this.savedPort ?? 0);
    } catch (err) {
      if (opts.port !== undefined || !this.savedPort) throw err;
      await listen(0);
    }
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    if (this.port !== this.savedPort) this.changed();
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) {
      for (const s of this.sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    if (this.tempDir) rmSync(this.tempDir, { recursive: true, force: true });
  }

  caPem(): string {
    if (!this.ca) throw new Error('the sandbox TLS endpoint has not started');
    return this.ca.cert;
  }

  list(now = Date.now()): TlsCertificateView[] {
    return [...this.certs].sort(([a], [b]) => a.localeCompare(b)).map(([host, c]) => certificateView(host, c, now));
  }

  /** The certificate the sandbox serves for `host`, issued now when it has none. */
  async certificate(host: string): Promise<TlsCertificateView> {
    const h = tlsHostName(host);
    return certificateView(h, await this.certificateFor(h));
  }

  /** Replaces the certificate of `host` (control API): expiring in `daysLeft` days, or untrusted. */
  async set(host: string, change: TlsCertificateChange = {}): Promise<TlsCertificateView> {
    const h = tlsHostName(host);
    if (change.daysLeft !== undefined && !(Number.isInteger(change.daysLeft) && Math.abs(change.daysLeft) <= CA_VALID_DAYS)) {
      throw new Error(`daysLeft: must be a whole number of days between -${CA_VALID_DAYS} and ${CA_VALID_DAYS}`);
    }
    if (change.untrusted !== undefined && typeof change.untrusted !== 'boolean') throw new Error('untrusted: must be true or false');
    const managed = change.daysLeft === undefined && !change.untrusted;
    const issued = { ...(await issue(h, this.ca, change)), untrusted: change.untrusted === true, managed };
    this.put(h, issued);
    return certificateView(h, issued);
  }

  private put(host: string, c: IssuedCertificate): void {
    this.certs.set(host, c);
    // A handshake without SNI gets this one.
    if (host === DEFAULT_HOST) this.server?.setSecureContext({ key: c.key, cert: c.cert });
    this.changed();
  }

  private changed(): void {
    this.onChange?.();
  }

  private dueForRenewal(c: IssuedCertificate, now = Date.now()): boolean {
    return c.managed && new Date(new X509Certificate(c.cert).validTo).getTime() - now < RENEW_BEFORE_DAYS * DAY_MS;
  }

  private certificateFor(host: string): Promise<IssuedCertificate> {
    const have = this.certs.get(host);
    if (have && !this.dueForRenewal(have)) return Promise.resolve(have);
    let pending = this.issuing.get(host);
    if (!pending) {
      pending = issue(host, this.ca, {})
        .then((pem) => {
          const issued = { ...pem, untrusted: false, managed: true };
          // A certificate set meanwhile through the control API wins.
          if (this.certs.get(host) === have) this.put(host, issued);
          return this.certs.get(host)!;
        })
        .finally(() => this.issuing.delete(host));
      this.issuing.set(host, pending);
    }
    return pending;
  }

  private async contextFor(host: string): Promise<tls.SecureContext> {
    const c = await this.certificateFor(host);
    const cached = this.contexts.get(host);
    if (cached?.of === c) return cached.ctx;
    const ctx = tls.createSecureContext({ key: c.key, cert: c.cert });
    this.contexts.set(host, { of: c, ctx });
    return ctx;
  }

  /** Whatever is asked over the connection gets a short plain answer; the certificate is the point. */
  private answer(socket: tls.TLSSocket): void {
    socket.on('error', () => undefined);
    socket.setTimeout(10_000, () => socket.destroy());
    let head = '';
    socket.on('data', (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      const name = (socket as tls.TLSSocket & { servername?: string | false }).servername || DEFAULT_HOST;
      const body = `Durable Runbooks sandbox: TLS endpoint standing in for ${name}\n`;
      socket.end(
        `HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
    });
  }
}

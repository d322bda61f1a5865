import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Pool } from 'pg';
import { createHealthActivities } from '../../src/activities/health';
import { readCertificate } from '../../src/activities/health/tls';
import { parseConfig } from '../../src/config/load';
import type { RunbookConfig } from '../../src/config/schema';
import { sandboxConfigOverrides, startSandbox, type Sandbox } from '../../src/sandbox';
import { TlsSandbox } from '../../src/sandbox/tls';
import type { CheckResult } from '../../src/workflows/health/contract';
import { testConfig } from '../harness';
import { call } from './http';

/**
 * The sandbox stands in for the app's TLS endpoint: the health check's certificate check of
 * `javariai.com` (config/examples/vercel-supabase.yaml) runs a real handshake against it, keeps its key
 * and verifies the certificate as javariai.com's against the sandbox CA; the control API sets the
 * certificate's days left or makes it untrusted; a sandbox with a data dir serves the same one after a restart.
 */

const HOST = 'javariai.com';

/** The health check's TLS part (the checkTls activity) with the configuration as `npm start` points it at the sandbox. */
async function checkTls(config: RunbookConfig): Promise<CheckResult> {
  const activities = createHealthActivities({ config, ops: {} as Pool, env: {}, databaseUrl: () => '' });
  const results = (await new MockActivityEnvironment().run(activities.checkTls)) as CheckResult[];
  expect(results).toHaveLength(1);
  return results[0];
}

/** The certificate a client asking for `servername` is served. */
function servedCertificate(address: string, servername: string, ca: string): Promise<{ fingerprint256: string; authorized: boolean }> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host, port: Number(port), servername, ca: [ca], rejectUnauthorized: false }, () => {
      const cert = socket.getPeerCertificate();
      resolve({ fingerprint256: cert.fingerprint256, authorized: socket.authorized && !tls.checkServerIdentity(servername, cert) });
      socket.end();
    });
    socket.once('error', reject);
  });
}

describe('sandbox TLS endpoint and the certificate check', () => {
  let sandbox: Sandbox;
  let config: RunbookConfig;

  beforeAll(async () => {
    sandbox = await startSandbox({ timing: 10 });
    ({ config } = sandboxConfigOverrides(sandbox, testConfig()));
  });
  afterAll(async () => {
    await sandbox?.stop();
  });

  it('points each tlsHosts entry at the sandbox and trusts its CA, keeping the entry (and so the check key)', () => {
    expect(config.maintenance.tlsHosts).toEqual([HOST]);
    expect(config.maintenance.tlsConnectTo).toEqual({ [HOST]: sandbox.tls.address });
    expect(config.maintenance.tlsCaFile).toBe(sandbox.tls.caFile);
    expect(readFileSync(sandbox.tls.caFile, 'utf8')).toBe(sandbox.tls.caPem());
  });

  it('reports ok with the days left of the generated certificate', async () => {
    const result = await checkTls(config);
    const served = await sandbox.tls.certificate(HOST);
    expect(served).toMatchObject({ host: HOST, daysLeft: 90, trusted: true, issuer: 'Durable Runbooks Sandbox CA' });
    expect(result).toMatchObject({
      key: 'health:tls:javariai.com',
      service: HOST,
      check: 'tls',
      status: 'ok',
      value: served.daysLeft,
      unit: 'days',
    });
    expect(result.summary).toBe(`certificate of ${HOST} valid until ${served.validTo.slice(0, 10)} (90 days)`);
    expect(result.details).toMatchObject({ subject: HOST, issuer: 'Durable Runbooks Sandbox CA', connectedTo: sandbox.tls.address });
  });

  it('is critical at 5 days left and a warning at 20, as set through the control API', async () => {
    const five = await call(`${sandbox.url}/_sandbox/tls/${HOST}`, { method: 'POST', body: { daysLeft: 5 } });
    expect(five.status).toBe(200);
    expect(five.json).toMatchObject({ host: HOST, daysLeft: 5, trusted: true, managed: false });
    let result = await checkTls(config);
    expect(result).toMatchObject({ status: 'critical', value: 5 });
    expect(result.summary).toMatch(/^certificate of javariai\.com expires in 5 days \(\d{4}-\d\d-\d\d\)$/);

    expect((await call(`${sandbox.url}/_sandbox/tls/${HOST}`, { method: 'POST', body: { daysLeft: 20 } })).status).toBe(200);
    result = await checkTls(config);
    expect(result).toMatchObject({ status: 'warning', value: 20 });
    expect(result.summary).toMatch(/expires in 20 days/);
  });

  it('is critical when the certificate is untrusted or expired, and ok again after a fresh one', async () => {
    const untrusted = await call(`${sandbox.url}/_sandbox/tls/${HOST}`, { method: 'POST', body: { untrusted: true } });
    expect(untrusted.json).toMatchObject({ daysLeft: 90, trusted: false });
    let result = await checkTls(config);
    expect(result).toMatchObject({ status: 'critical', value: 90 });
    expect(result.summary).toMatch(/not trusted: DEPTH_ZERO_SELF_SIGNED_CERT/);

    await call(`${sandbox.url}/_sandbox/tls/${HOST}`, { method: 'POST', body: { daysLeft: -2 } });
    result = await checkTls(config);
    expect(result).toMatchObject({ status: 'critical', value: -2 });
    expect(result.summary).toMatch(/expired on .*not trusted: CERT_HAS_EXPIRED/);

    await call(`${sandbox.url}/_sandbox/tls/${HOST}`, { method: 'POST', body: {} });
    expect(await checkTls(config)).toMatchObject({ status: 'ok', value: 90 });
  });

  it('refuses a bad change and a bad host name', async () => {
    expect(await call(`${sandbox.url}/_sandbox/tls/${HOST}`, { method: 'POST', body: { daysLeft: 2.5 } })).toMatchObject({
      status: 400,
      json: { error: expect.stringMatching(/^daysLeft:/) },
    });
    expect(await call(`${sandbox.url}/_sandbox/tls/${HOST}`, { method: 'POST', body: { untrusted: 'yes' } })).toMatchObject({
      status: 400,
      json: { error: expect.stringMatching(/^untrusted:/) },
    });
    expect(await call(`${sandbox.url}/_sandbox/tls/not_a_host!`, { method: 'POST', body: {} })).toMatchObject({
      status: 400,
      json: { error: expect.stringMatching(/^host:/) },
    });
  });

  it('answers any other host name (SNI) with a certificate of its own, and IP connections with localhost', async () => {
    const other = await servedCertificate(sandbox.tls.address, 'api.example.org', sandbox.tls.caPem());
    expect(other.authorized).toBe(true);
    expect(other.fingerprint256).toBe((await sandbox.tls.certificate('api.example.org')).fingerprint256);
    const listed = (await call(`${sandbox.url}/_sandbox/tls`)).json as { address: string; certificates: Array<{ host: string }> };
    expect(listed.address).toBe(sandbox.tls.address);
    expect(listed.certificates.map((c) => c.host)).toEqual(expect.arrayContaining(['api.example.org', HOST, 'localhost']));
    // No SNI (an IP address): the localhost certificate, whose SAN has 127.0.0.1.
    const byIp = await readCertificate(sandbox.tls.address, { timeoutMs: 3_000, ca: sandbox.tls.caPem() });
    expect(byIp).toMatchObject({ subject: 'localhost', issuer: 'Durable Runbooks Sandbox CA', untrusted: undefined });
  });

  it('a tlsConnectTo entry must name a tlsHosts entry', () => {
    const base = testConfig();
    expect(() =>
      parseConfig({ ...base, maintenance: { ...base.maintenance, tlsConnectTo: { 'other.com': '127.0.0.1:8443' } } }, 'test.yaml'),
    ).toThrow(/tlsConnectTo.*other\.com.*not one of tlsHosts/s);
  });
});

describe('sandbox TLS endpoint across restarts', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'runbook-sandbox-tls-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a sandbox with a data dir serves the same CA and certificates after a restart, on the same port', async () => {
    const first = await startSandbox({ timing: 10, dataDir: dir });
    const { config } = sandboxConfigOverrides(first, testConfig());
    const before = await checkTls(config);
    expect(before.status).toBe('ok');
    const ca = readFileSync(first.tls.caFile, 'utf8');
    expect(first.tls.caFile).toBe(path.join(dir, 'ca.pem'));
    const served = await servedCertificate(first.tls.address, HOST, ca);
    await first.tls.set('expiring.example.org', { daysLeft: 20 });
    const expiring = await servedCertificate(first.tls.address, 'expiring.example.org', ca);
    const address = first.tls.address;
    await first.stop();

    const second = await startSandbox({ timing: 10, dataDir: dir });
    try {
      expect(second.tls.address).toBe(address);
      expect(readFileSync(second.tls.caFile, 'utf8')).toBe(ca);
      expect(await servedCertificate(second.tls.address, HOST, ca)).toEqual(served);
      expect(await servedCertificate(second.tls.address, 'expiring.example.org', ca)).toEqual(expiring);
      expect(await second.tls.certificate('expiring.example.org')).toMatchObject({ daysLeft: 20, managed: false });
      const after = await checkTls(sandboxConfigOverrides(second, testConfig()).config);
      expect(after).toMatchObject({ key: before.key, status: 'ok', value: before.value, details: before.details });
    } finally {
      await second.stop();
    }
  });
});

describe('sandbox TLS certificates over time', () => {
  it('renews a certificate of its own 30 days before it expires, and leaves one set through the control API as set', async () => {
    const first = new TlsSandbox('127.0.0.1');
    await first.start({});
    await first.set('renew.example.org', { daysLeft: 10 });
    await first.set('pinned.example.org', { daysLeft: 10 });
    const saved = structuredClone(first.dump());
    await first.stop();
    // As if the sandbox had issued it itself 80 days ago.
    saved.hosts['renew.example.org'].managed = true;

    const second = new TlsSandbox('127.0.0.1');
    second.load(saved);
    await second.start({});
    try {
      const ca = second.caPem();
      expect(ca).toBe(saved.ca!.cert);
      const renewed = await servedCertificate(second.address(), 'renew.example.org', ca);
      expect(renewed.authorized).toBe(true);
      expect(await second.certificate('renew.example.org')).toMatchObject({
        daysLeft: 90,
        managed: true,
        fingerprint256: renewed.fingerprint256,
      });
      expect(await second.certificate('pinned.example.org')).toMatchObject({ daysLeft: 10, managed: false });
    } finally {
      await second.stop();
    }
  });
});

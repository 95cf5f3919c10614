// A zone of three real replicas that speak only TLS: peer links over wss, internal calls over https,
// the API over https, and certificates reread on SIGHUP.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { request } from 'undici';
import { WebSocket } from 'ws';
import { sleep } from '../helpers/zone-cluster.js';
import { createTestPki, SKIP_WITHOUT_OPENSSL, type TestCa, type TestPki } from './test-pki.js';
import { startTlsZone, type TlsZone } from './tls-zone.js';

/** The SHA-256 fingerprint of the certificate a replica serves to a new connection. */
function servedFingerprint(port: number, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca }, () => {
      const fp = socket.getPeerCertificate().fingerprint256;
      socket.end();
      resolve(fp);
    });
    socket.once('error', reject);
  });
}

function fingerprintOf(certFile: string): string {
  return new X509Certificate(readFileSync(certFile)).fingerprint256;
}

describe('a TLS zone of three cairn server processes', { skip: SKIP_WITHOUT_OPENSSL, timeout: 60_000 }, () => {
  let pki: TestPki;
  let ca: TestCa;
  let zone: TlsZone;
  const ids = ['n1', 'n2', 'n3'];

  before(async () => {
    pki = createTestPki();
    ca = pki.newCa('zone-ca');
    // Each replica reads its certificate from a file of its own, which the reload test overwrites.
    const replicas = ids.map((id) => {
      const issued = ca.issue(id);
      const cert = join(pki.dir, `${id}.pem`);
      const key = join(pki.dir, `${id}.key`);
      copyFileSync(issued.cert, cert);
      copyFileSync(issued.key, key);
      return { id, cert, key, ca: ca.cert };
    });
    zone = await startTlsZone({ replicas, clientCa: ca.pem, logLevel: 'info' });
  });

  after(async () => {
    await zone?.stop();
    pki?.cleanup();
  });

  async function followerOf(): Promise<string> {
    const leader = await zone.leader();
    return ids.find((id) => id !== leader)!;
  }

  async function waitInstance(id: string, service: string, predicate: (i: { healthy: boolean }) => boolean) {
    const deadline = Date.now() + 10_000;
    let last: unknown;
    while (Date.now() < deadline) {
      const a = await zone.call(id, 'GET', `/v1/services/public/DEFAULT_GROUP/${service}`);
      last = a.body;
      const instances = (a.body as { instances?: { healthy: boolean }[] } | null)?.instances ?? [];
      if (a.status === 200 && instances.length === 1 && predicate(instances[0]!)) return;
      await sleep(50);
    }
    throw new Error(`${service} on ${id} never matched: ${JSON.stringify(last)}`);
  }

  it('elects a leader over wss peer links and replicates a registration sent to a follower', async () => {
    const follower = await followerOf();
    const reg = await zone.call(follower, 'POST', '/v1/instances', {
      service: 'orders',
      ip: '10.0.0.1',
      port: 8080,
      ephemeral: false,
    });
    assert.equal(reg.status, 200, JSON.stringify(reg.body));
    for (const id of ids) await waitInstance(id, 'orders', () => true);
    const cluster = await zone.call(follower, 'GET', '/v1/cluster');
    const members = (cluster.body as { members: { id: string; address: string }[] }).members;
    assert.deepEqual(members.map((m) => m.id).sort(), ids, 'peers stay host:port; the scheme follows TLS');
    assert.ok(members.every((m) => /^127\.0\.0\.1:\d+$/.test(m.address)));
  });

  it('speaks only TLS: plain HTTP, plain ws:// and clients that do not trust the CA are refused', async () => {
    const r = zone.replica('n1');
    await assert.rejects(request(`http://${r.address}/healthz`, { headersTimeout: 3000 }), 'plain HTTP is refused');
    await assert.rejects(request(`${r.url}/healthz`), (err: Error & { code?: string }) => {
      assert.match(String(err.code), /CERT|SIGNATURE|ISSUER/);
      return true;
    });
    const plainPeer = await new Promise<string>((resolve) => {
      const ws = new WebSocket(`ws://${r.address}/raft/peer`);
      ws.on('open', () => resolve('open'));
      ws.on('error', (err) => resolve(err.message));
    });
    assert.notEqual(plainPeer, 'open');
    const ok = await zone.call('n1', 'GET', '/healthz');
    assert.equal(ok.status, 200);
  });

  it('forwards heartbeats from a follower to the leader over https', async () => {
    const follower = await followerOf();
    const instance = { service: 'billing', ip: '10.0.0.2', port: 9090 };
    const reg = await zone.call(follower, 'POST', '/v1/instances', {
      ...instance,
      heartbeat: { intervalMs: 200, unhealthyAfterMs: 1000, expireAfterMs: 60_000 },
    });
    assert.equal(reg.status, 200, JSON.stringify(reg.body));
    // Four unhealthy windows of heartbeats sent only to the follower: the leader holds the lease.
    const untilMs = Date.now() + 4000;
    while (Date.now() < untilMs) {
      const hb = await zone.call(follower, 'PUT', '/v1/instances/heartbeat', instance);
      assert.equal(hb.status, 200, JSON.stringify(hb.body));
      await sleep(150);
    }
    const leader = await zone.leader();
    await waitInstance(leader, 'billing', (i) => i.healthy);
    const res = await request(`${zone.replica(follower).url}/metrics`, { dispatcher: zone.agent });
    const metrics = await res.body.text();
    const forwarded = Number(/^cairn_lease_renewals_forwarded_total(?:{[^}]*})? (\d+)/m.exec(metrics)?.[1] ?? 0);
    assert.ok(forwarded > 0, `the follower forwarded renewals (${forwarded})`);
  });

  it('serves a new certificate after SIGHUP, and keeps it when the next files are broken', async () => {
    const follower = await followerOf();
    const r = zone.replica(follower);
    const before = await servedFingerprint(r.port, ca.pem);
    assert.equal(before, fingerprintOf(r.cert));

    const renewed = ca.issue(`${follower}-renewed`);
    copyFileSync(renewed.key, r.key);
    copyFileSync(renewed.cert, r.cert);
    zone.signal(follower, 'SIGHUP');
    await zone.waitOutput(follower, '"msg":"TLS certificates reloaded"');
    const after1 = await servedFingerprint(r.port, ca.pem);
    assert.notEqual(after1, before);
    assert.equal(after1, fingerprintOf(renewed.cert));

    // Half an update: a new certificate whose key was not copied. Refused; the served one stays.
    const other = ca.issue(`${follower}-other`);
    copyFileSync(other.cert, r.cert);
    zone.signal(follower, 'SIGHUP');
    await zone.waitOutput(follower, '"msg":"TLS reload failed: still serving the previous certificate"');
    assert.match(r.output, /does not belong to the certificate/);
    assert.equal(await servedFingerprint(r.port, ca.pem), after1);
    assert.ok(r.proc, 'the replica is still running');

    // The zone carries on with the reloaded replica: its peers dial it with the new certificate.
    const reg = await zone.call(await zone.leader(), 'POST', '/v1/instances', {
      service: 'after-reload',
      ip: '10.0.0.3',
      port: 7070,
      ephemeral: false,
    });
    assert.equal(reg.status, 200);
    await waitInstance(follower, 'after-reload', () => true);
  });
});

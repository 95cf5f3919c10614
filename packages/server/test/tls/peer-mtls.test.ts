// Mutual TLS between replicas (--peer-mtls): the peer link and the internal routes want a client
// certificate signed by the zone CA, on top of the cluster secret; API clients need none.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { signUpgrade } from '@cairn/raft';
import { Agent, request } from 'undici';
import { WebSocket } from 'ws';
import { sleep } from '../helpers/zone-cluster.js';
import { type CertFiles, createTestPki, SKIP_WITHOUT_OPENSSL, type TestCa, type TestPki } from './test-pki.js';
import { CLUSTER_SECRET, startTlsZone, type TlsZone } from './tls-zone.js';

const CLUSTER_AUTH_HEADER = 'x-cairn-cluster-secret';

describe('mutual TLS between replicas', { skip: SKIP_WITHOUT_OPENSSL, timeout: 60_000 }, () => {
  let pki: TestPki;
  let ca: TestCa;
  let rogue: TestCa;
  let zone: TlsZone;
  let tester: CertFiles;
  let rogueTester: CertFiles;

  before(async () => {
    pki = createTestPki();
    ca = pki.newCa('zone-ca');
    rogue = pki.newCa('rogue-ca');
    tester = ca.issue('tester');
    rogueTester = rogue.issue('tester');
    // n3 knows the cluster secret and trusts the zone CA, but its certificate comes from another CA.
    const replicas = [
      { id: 'n1', ...ca.issue('n1'), ca: ca.cert },
      { id: 'n2', ...ca.issue('n2'), ca: ca.cert },
      { id: 'n3', ...rogue.issue('n3'), ca: ca.cert },
    ];
    zone = await startTlsZone({
      replicas,
      clientCa: Buffer.concat([ca.pem, rogue.pem]),
      peerMtls: true,
      notReady: ['n3'],
    });
  });

  after(async () => {
    await zone?.stop();
    pki?.cleanup();
  });

  /** The status of a peer-link handshake as `from` to `to`, with a client certificate or none. */
  function peerHandshake(to: string, from: string, cert?: CertFiles): Promise<number> {
    const r = zone.replica(to);
    return new Promise((resolve) => {
      const ws = new WebSocket(`wss://${r.address}/raft/peer`, {
        ca: ca.pem,
        ...(cert ? { cert: readFileSync(cert.cert), key: readFileSync(cert.key) } : {}),
        headers: signUpgrade(new TextEncoder().encode(CLUSTER_SECRET), from, to, ''),
      });
      ws.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.on('open', () => {
        resolve(101);
        ws.close();
      });
      ws.on('error', () => resolve(0));
    });
  }

  it('keeps a replica without a certificate signed by the zone CA out of the zone', async () => {
    const leader = await zone.leader(['n1', 'n2']);
    assert.notEqual(leader, 'n3');
    const reg = await zone.call(leader, 'POST', '/v1/instances', {
      service: 'orders',
      ip: '10.0.0.1',
      port: 8080,
      ephemeral: false,
    });
    assert.equal(reg.status, 200, JSON.stringify(reg.body));
    const revision = (reg.body as { revision: number }).revision;
    // Several election timeouts: n3 keeps trying and keeps failing.
    await sleep(1500);
    const n3 = (await zone.call('n3', 'GET', '/v1/cluster')).body as { leader: string; applied: number };
    assert.equal(n3.leader, '', 'n3 never hears from a leader');
    assert.ok(n3.applied < revision, `n3 applied ${n3.applied}, the zone is at ${revision}`);
    assert.equal(await zone.leader(['n1', 'n2']), leader, 'n3 did not disturb the zone');
    const refusedByZone = ['n1', 'n2'].some((id) =>
      zone.replica(id).output.includes('replica route refused: no client certificate signed by the zone CA'),
    );
    assert.ok(refusedByZone, 'the zone logged refusing n3');
    assert.match(zone.replica('n3').output, /raft peer dial failed; retrying/);
  });

  it('asks API clients for no certificate, and replica routes for one signed by the zone CA', async () => {
    const leader = await zone.leader(['n1', 'n2']);
    const api = await zone.call(leader, 'GET', '/v1/cluster');
    assert.equal(api.status, 200, 'an API client without a certificate is served');

    assert.equal(await peerHandshake(leader, 'n3'), 403, 'no client certificate');
    assert.equal(await peerHandshake(leader, 'n3', rogueTester), 403, 'a certificate from another CA');
    assert.equal(await peerHandshake(leader, 'n3', tester), 101, 'the zone CA and the cluster secret');

    const internal = async (cert: CertFiles | null, secret: string): Promise<number> => {
      const agent = new Agent({
        connect: { ca: ca.pem, ...(cert ? { cert: readFileSync(cert.cert), key: readFileSync(cert.key) } : {}) },
      });
      try {
        const res = await request(`${zone.replica(leader).url}/internal/v1/renewals`, {
          method: 'POST',
          dispatcher: agent,
          headers: { 'content-type': 'application/json', [CLUSTER_AUTH_HEADER]: secret },
          body: JSON.stringify({ instances: [], sessions: [] }),
        });
        await res.body.dump();
        return res.statusCode;
      } finally {
        await agent.close();
      }
    };
    assert.equal(await internal(null, CLUSTER_SECRET), 403, 'the secret alone is not enough');
    assert.equal(await internal(rogueTester, CLUSTER_SECRET), 403);
    assert.equal(await internal(tester, 'not-the-cluster-secret-at-all'), 401, 'the certificate alone is not enough');
    assert.equal(await internal(tester, CLUSTER_SECRET), 200);
  });
});

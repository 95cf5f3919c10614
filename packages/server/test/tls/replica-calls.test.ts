// The replica-to-replica HTTP calls (forwarded renewals, the health checks' live-replica view) in a
// zone under mutual TLS, run in this process so their counters can be read.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadServerConfig } from '../../src/config/server-config.js';
import { startZoneServer, type ZoneServer } from '../../src/server/zone-server.js';
import { freePort, sleep } from '../helpers/zone-cluster.js';
import { createTestPki, SKIP_WITHOUT_OPENSSL, type TestPki } from './test-pki.js';
import { CLUSTER_SECRET } from './tls-zone.js';

async function waitFor(what: string, predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('replica-to-replica calls under mutual TLS', { skip: SKIP_WITHOUT_OPENSSL, timeout: 60_000 }, () => {
  let pki: TestPki;
  let root: string;
  const servers: ZoneServer[] = [];

  before(async () => {
    pki = createTestPki();
    const ca = pki.newCa('zone-ca');
    root = mkdtempSync(join(tmpdir(), 'cairn-tls-calls-'));
    const ids = ['n1', 'n2', 'n3'];
    const ports = await Promise.all(ids.map(() => freePort()));
    const peers = ids.map((id, i) => `${id}=127.0.0.1:${ports[i]}`).join(',');
    const configs = ids.map((id, i) => {
      const { cert, key } = ca.issue(id);
      return loadServerConfig(
        [
          ...['--zone', 'az1', '--node-id', id, '--listen', `127.0.0.1:${ports[i]}`, '--peers', peers],
          ...['--data-dir', join(root, id), '--cluster-secret', CLUSTER_SECRET, '--tick-ms', '20'],
          ...['--log-level', 'silent', '--tls-cert', cert, '--tls-key', key, '--tls-ca', ca.cert, '--peer-mtls'],
        ],
        {},
      );
    });
    servers.push(...(await Promise.all(configs.map((c) => startZoneServer(c)))));
    await waitFor('a leader', () => servers.some((s) => s.registry.isLeader));
  });

  after(async () => {
    await Promise.all(servers.map((s) => s.close()));
    if (root) rmSync(root, { recursive: true, force: true });
    pki?.cleanup();
  });

  const followers = () => servers.filter((s) => !s.registry.isLeader);

  it('dials the other replicas only over https and wss', () => {
    for (const s of servers) {
      assert.ok(s.tls?.dialer.secure);
      assert.equal(s.tls?.dialer.url('127.0.0.1:1', '/x'), 'https://127.0.0.1:1/x');
      const dial = s.tls?.dialer.peerTls?.();
      assert.ok(dial?.ca && dial.cert && dial.key, 'replicas present their certificate to each other');
    }
  });

  it("fetches the leader's live-replica view for the health checks over https with a client certificate", async () => {
    const fs = followers();
    const failuresBefore = fs.map((s) => s.checks.counters.viewFetchFailures);
    const fetchesBefore = fs.map((s) => s.checks.counters.viewFetches);
    await waitFor('two fetches of the view by every follower', () =>
      fs.every((s, i) => s.checks.counters.viewFetches >= fetchesBefore[i]! + 2),
    );
    assert.deepEqual(
      fs.map((s) => s.checks.counters.viewFetchFailures),
      failuresBefore,
      'no fetch failed',
    );
  });

  it('forwards renewals from a follower to the leader over https with a client certificate', async () => {
    const follower = followers()[0]!;
    const before = follower.registry.counters.renewalsForwarded;
    follower.registry.renew(['some-instance'], ['some-session']);
    await waitFor('the renewals to be forwarded', () => follower.registry.counters.renewalsForwarded >= before + 2);
  });
});

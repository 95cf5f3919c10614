import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { Agent } from 'undici';
import type { FederationServer } from '../../src/federation/federation-server.js';
import { federationWatchApi } from '../../src/federation/watch/federation-watch-plugin.js';
import { passwordOf } from '../auth/auth-harness.js';
import { createTestPki, SKIP_WITHOUT_OPENSSL, type TestCa, type TestPki } from '../tls/test-pki.js';
import {
  api,
  bearerProtocol,
  cairn,
  OPS,
  Socket,
  startFed,
  startZone,
  type TestZone,
  waitUntil,
  writeAuthFile,
  ZONE_TOKEN,
} from './federation-auth-kit.js';

// A federation node serving HTTPS and WSS (--tls-cert, --tls-key, reloaded on SIGHUP) over a TLS
// zone with auth, trusted through --zone-ca and reached with --zone-token: REST, the watch, forwarded
// actions and cluster reads over TLS; a federation without the zone CA cannot watch and says why;
// `cairn ctl` with --ca (CAIRN_TLS_CA), --token and `login` reading the password from stdin.

const ALPHA_ORDERS = { namespace: 'alpha', group: 'DEFAULT_GROUP', service: 'orders' };

describe('federation over https watching a TLS zone', { skip: SKIP_WITHOUT_OPENSSL, timeout: 180_000 }, () => {
  let pki: TestPki;
  let ca: TestCa;
  let dir: string;
  let authFile: string;
  let zone: TestZone;
  let fed: FederationServer;
  /** The federation's certificate and key files (overwritten by the reload test). */
  let fedCert: string;
  let fedKey: string;
  let agent: Agent;

  before(async () => {
    pki = createTestPki();
    ca = pki.newCa('cairn-test-ca');
    dir = mkdtempSync(join(tmpdir(), 'cairn-fed-tls-'));
    authFile = await writeAuthFile(dir);
    const zoneFiles = ca.issue('zone');
    zone = await startZone(authFile, { ...zoneFiles, ca: ca.cert });
    agent = new Agent({ connect: { ca: ca.pem } });
    assert.equal(
      (await api('PUT', `${zone.url}/v1/namespaces/alpha`, { bearer: OPS, json: {}, dispatcher: agent })).status,
      200,
    );
    const r = await api('POST', `${zone.url}/v1/instances`, {
      bearer: OPS,
      dispatcher: agent,
      json: { namespace: 'alpha', service: 'orders', ip: '10.0.0.1', port: 8080, ephemeral: false },
    });
    assert.equal(r.status, 200, r.text);
    const issued = ca.issue('federation');
    fedCert = join(dir, 'fed.pem');
    fedKey = join(dir, 'fed.key');
    copyFileSync(issued.cert, fedCert);
    copyFileSync(issued.key, fedKey);
    fed = await startFed(
      [
        ...['--zone', `az1=${zone.url}`, '--auth-file', authFile, '--zone-token', ZONE_TOKEN],
        ...['--zone-ca', ca.cert, '--tls-cert', fedCert, '--tls-key', fedKey],
      ],
      { plugins: [federationWatchApi] },
    );
    await waitUntil(() => fed.view.zone('az1')?.state === 'live', 'the federation watches the TLS zone');
  });

  after(async () => {
    await fed?.close();
    await zone?.stop();
    await agent?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    pki?.cleanup();
  });

  test('REST over https; the zone watched over wss with --zone-ca and the zone token', async () => {
    assert.match(fed.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.match(zone.url, /^https:/);
    assert.equal(fed.view.zone('az1')?.replica, zone.url);
    const list = await api('GET', `${fed.url}/v1/services`, { bearer: OPS, dispatcher: agent });
    assert.equal(list.status, 200);
    assert.deepEqual(
      list.body.services.map((s: { service: string }) => s.service),
      ['orders'],
    );
    assert.equal((await api('GET', `${fed.url}/v1/services`, { dispatcher: agent })).status, 401);
    // Plain HTTP on the TLS port gets nowhere; neither does a client that does not trust the CA.
    await assert.rejects(api('GET', `${fed.url.replace('https', 'http')}/healthz`));
    await assert.rejects(api('GET', `${fed.url}/healthz`));
  });

  test('the watch over wss with the browser credential; zone changes arrive', async () => {
    const s = await Socket.open(`${fed.url.replace('https', 'wss')}/v1/watch`, {
      ca: ca.pem,
      protocols: ['cairn.v1', bearerProtocol(OPS)],
    });
    assert.ok(s instanceof Socket);
    try {
      assert.equal(s.ws.protocol, 'cairn.v1');
      s.send({ type: 'subscribe', sub: 'o', services: [ALPHA_ORDERS] });
      assert.equal((await s.next((m) => m.type === 'snapshot' && m.last)).instances.length, 1);
      const r = await api('POST', `${zone.url}/v1/instances`, {
        bearer: OPS,
        dispatcher: agent,
        json: { namespace: 'alpha', service: 'orders', ip: '10.0.0.2', port: 8080, ephemeral: false },
      });
      assert.equal(r.status, 200);
      const delta = await s.next((m) => m.type === 'delta');
      assert.ok(JSON.stringify(delta.changes).includes('10.0.0.2'));
    } finally {
      s.close();
    }
  });

  test('forwarded actions and cluster reads reach the zone over https', async () => {
    const patch = await api('PATCH', `${fed.url}/v1/zones/az1/instances`, {
      bearer: OPS,
      dispatcher: agent,
      json: { namespace: 'alpha', service: 'orders', ip: '10.0.0.1', port: 8080, weight: 50 },
    });
    assert.equal(patch.status, 200, patch.text);
    assert.equal(patch.body.instance.weight, 50);
    const cluster = await api('GET', `${fed.url}/v1/zones/az1/cluster`, { bearer: OPS, dispatcher: agent });
    assert.equal(cluster.status, 200, cluster.text);
    assert.deepEqual(
      cluster.body.replicas.map((r: { up: boolean }) => r.up),
      [true],
    );
  });

  test("without --zone-ca the zone's certificate is refused: never live, and the reason says so", async () => {
    const other = await startFed(['--zone', `az1=${zone.url}`, '--zone-token', ZONE_TOKEN]);
    try {
      await waitUntil(
        () => /certificate|UNABLE_TO_VERIFY/i.test(other.watchers[0]!.stats.lastError ?? ''),
        'the watcher names the certificate problem',
      );
      assert.equal(other.view.zone('az1')?.state, 'connecting');
    } finally {
      await other.close();
    }
  });

  test('cairn ctl: --ca or CAIRN_TLS_CA, --token or CAIRN_TOKEN, login with the password on stdin', async () => {
    const untrusted = await cairn(['ctl', 'services', '--server', fed.url, '--token', OPS]);
    assert.equal(untrusted.code, 1);
    assert.match(untrusted.stderr, /cannot reach/);
    const services = await cairn(['ctl', 'services', '--server', fed.url, '--ca', ca.cert, '--token', OPS]);
    assert.equal(services.code, 0, services.stderr);
    assert.match(services.stdout, /alpha\s+DEFAULT_GROUP\s+orders/);
    const anonymous = await cairn(['ctl', 'zones', '--server', fed.url, '--ca', ca.cert]);
    assert.equal(anonymous.code, 1);
    assert.match(anonymous.stderr, /UNAUTHENTICATED/);

    const env = { CAIRN_SERVER: fed.url, CAIRN_TLS_CA: ca.cert };
    const wrong = await cairn(['ctl', 'login', '--username', 'root'], env, 'not-the-password\n');
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /wrong username or password/);
    const login = await cairn(['ctl', 'login', '--username', 'root'], env, `${passwordOf('root')}\n`);
    assert.equal(login.code, 0, login.stderr);
    const token = login.stdout.trim();
    assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    const zones = await cairn(['ctl', 'zones'], { ...env, CAIRN_TOKEN: token });
    assert.equal(zones.code, 0, zones.stderr);
    assert.match(zones.stdout, /az1\s+live/);
    // The same token holds at the zone (one auth file).
    const members = await cairn(['ctl', 'members', '--server', zone.url, '--ca', ca.cert, '--token', token]);
    assert.equal(members.code, 0, members.stderr);
    assert.equal((await cairn(['ctl', 'login'], env, 'x\n')).code, 2);
    assert.equal((await cairn(['ctl', 'zones', '--ca', join(dir, 'missing.pem')], env)).code, 2);
  });

  test('SIGHUP (reloadTls) serves a new certificate to new connections; bad files keep the old one', async () => {
    const served = (): Promise<string> =>
      new Promise((resolve, reject) => {
        const [host, port] = [fed.address.slice(0, fed.address.lastIndexOf(':')), Number(fed.address.split(':').pop())];
        const socket = tlsConnect({ host, port, ca: ca.pem, servername: 'localhost' }, () => {
          const fp = socket.getPeerX509Certificate()?.fingerprint256 ?? '';
          socket.destroy();
          resolve(fp);
        });
        socket.once('error', reject);
      });
    const before = new X509Certificate(readFileSync(fedCert)).fingerprint256;
    assert.equal(await served(), before);
    const next = ca.issue('federation-2');
    copyFileSync(next.cert, fedCert);
    copyFileSync(next.key, fedKey);
    fed.reloadTls();
    const renewed = new X509Certificate(readFileSync(next.cert)).fingerprint256;
    assert.notEqual(renewed, before);
    assert.equal(await served(), renewed);
    writeFileSync(fedCert, 'not a certificate');
    fed.reloadTls();
    assert.equal(await served(), renewed);
    // The zone is still watched (the zone CA was reread too).
    assert.equal(fed.view.zone('az1')?.state, 'live');
  });
});

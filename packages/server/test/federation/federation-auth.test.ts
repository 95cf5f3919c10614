import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bearerFromSubprotocols, chooseSubprotocol } from '../../src/auth/socket-credentials.js';
import { CairnError } from '../../src/errors.js';
import { federationHelp, loadFederationConfig } from '../../src/federation/config/federation-config.js';
import type { FederationServer } from '../../src/federation/federation-server.js';
import { federationNacosApi } from '../../src/federation/nacos/federation-nacos-plugin.js';
import { federationWatchApi } from '../../src/federation/watch/federation-watch-plugin.js';
import { TlsFileError } from '../../src/tls/tls-material.js';
import { capturingLogger, passwordOf } from '../auth/auth-harness.js';
import {
  api,
  bearerProtocol,
  OPS,
  READ_ALPHA,
  Socket,
  startFed,
  startZone,
  type TestZone,
  WRITE_ALPHA,
  waitUntil,
  writeAuthFile,
  ZONE_TOKEN,
} from './federation-auth-kit.js';

// A federation node with an auth file over an auth-on zone (the same auth file): REST, watch and
// Nacos reads refused to anonymous callers and checked per namespace, logins on the federation,
// zone actions forwarded with the caller's token (the zone decides), the zone token its watchers
// present, and the browser's subprotocol credential on zone and federation sockets.

const ALPHA_ORDERS = { namespace: 'alpha', group: 'DEFAULT_GROUP', service: 'orders' };
const PUBLIC_PAYMENTS = { namespace: 'public', group: 'DEFAULT_GROUP', service: 'payments' };

describe('the browser WebSocket credential (unit)', () => {
  test('cairn.bearer.<base64url> is decoded; malformed or repeated entries never hold', () => {
    const token = 'tok-123.abc_DEF';
    assert.equal(bearerFromSubprotocols(`cairn.v1, ${bearerProtocol(token)}`), token);
    assert.equal(bearerFromSubprotocols([`cairn.v1`, bearerProtocol(token)]), token);
    assert.equal(bearerFromSubprotocols('cairn.v1'), undefined);
    assert.equal(bearerFromSubprotocols(undefined), undefined);
    for (const bad of [
      'cairn.bearer.',
      'cairn.bearer.a+b/',
      'cairn.bearer.AB', // not the canonical encoding of any byte string
      `cairn.bearer.${Buffer.from('has space').toString('base64url')}`,
      `cairn.bearer.${Buffer.from([0xff, 0xfe]).toString('base64url')}`, // not UTF-8
      `${bearerProtocol('a-token-of-one')}, ${bearerProtocol('a-token-of-two')}`,
      `cairn.bearer.${'A'.repeat(9000)}`,
    ]) {
      assert.equal(bearerFromSubprotocols(bad), '', bad.slice(0, 60));
    }
  });

  test('the answer is cairn.v1, never a credential', () => {
    assert.equal(chooseSubprotocol(new Set([bearerProtocol('secret-token-value'), 'cairn.v1'])), 'cairn.v1');
    assert.equal(chooseSubprotocol(new Set([bearerProtocol('secret-token-value')])), false);
    assert.equal(chooseSubprotocol(new Set([bearerProtocol('secret-token-value'), 'other'])), 'other');
  });
});

describe('federation security settings', () => {
  const ZONE = ['--zone', 'az1=http://127.0.0.1:8848'];
  const problems = (fn: () => unknown): string => {
    try {
      fn();
    } catch (err) {
      assert.ok(err instanceof CairnError, String(err));
      return err.fields.map((f) => `${f.field}: ${f.message}`).join('\n') || err.message;
    }
    return assert.fail('expected the configuration to be refused');
  };

  test('flags and env vars; the auth file and the zone token file are read and checked at load', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-fed-settings-'));
    try {
      const authFile = await writeAuthFile(dir);
      const tokenFile = join(dir, 'zone-token');
      writeFileSync(tokenFile, `${ZONE_TOKEN}\n`);
      const c = loadFederationConfig([...ZONE, '--auth-file', authFile, '--zone-token-file', tokenFile], {});
      assert.equal(c.zoneToken, ZONE_TOKEN);
      assert.equal(c.auth?.users.size, 3);
      const fromEnv = loadFederationConfig(ZONE, {
        CAIRN_AUTH_FILE: authFile,
        CAIRN_ZONE_TOKEN: 'env-zone-token-0123',
        CAIRN_ZONE_CA: '/ca.pem',
        CAIRN_TLS_CERT: '/c.pem',
        CAIRN_TLS_KEY: '/k.pem',
      });
      assert.deepEqual(
        [fromEnv.authFile, fromEnv.zoneToken, fromEnv.zoneCa, fromEnv.tlsCert, fromEnv.tlsKey],
        [authFile, 'env-zone-token-0123', '/ca.pem', '/c.pem', '/k.pem'],
      );
      assert.equal(loadFederationConfig(ZONE, {}).auth, null);

      assert.match(
        problems(() => loadFederationConfig([...ZONE, '--tls-cert', '/c.pem'], {})),
        /--tls-key: give --tls-cert and --tls-key together/,
      );
      assert.match(
        problems(() => loadFederationConfig([...ZONE, '--zone-token', 'abc', '--zone-token-file', tokenFile], {})),
        /--zone-token-file: give --zone-token or --zone-token-file, not both/,
      );
      assert.match(
        problems(() => loadFederationConfig([...ZONE, '--zone-token', 'has space'], {})),
        /--zone-token: must be a token/,
      );
      assert.match(
        problems(() => loadFederationConfig([...ZONE, '--zone-token-file', join(dir, 'none')], {})),
        /--zone-token-file: cannot read/,
      );
      writeFileSync(join(dir, 'bad-auth.json'), JSON.stringify({ tokenSecret: 'short' }));
      assert.match(
        problems(() => loadFederationConfig([...ZONE, '--auth-file', join(dir, 'bad-auth.json')], {})),
        /auth\.tokenSecret: must be at least 32 characters/,
      );
      const help = federationHelp();
      for (const s of [
        '--auth-file',
        'CAIRN_AUTH_FILE',
        '--zone-token',
        'CAIRN_ZONE_TOKEN',
        '--zone-token-file',
        '--zone-ca',
        'CAIRN_ZONE_CA',
        '--tls-cert',
        '--tls-key',
      ]) {
        assert.ok(help.includes(s), s);
      }
      // A zone CA or TLS file that cannot be used stops the start, naming the file.
      writeFileSync(join(dir, 'not-a-ca.pem'), 'not a certificate');
      await assert.rejects(
        startFed(['--zone', 'az1=https://127.0.0.1:1', '--zone-ca', join(dir, 'not-a-ca.pem')]),
        (err: unknown) => err instanceof TlsFileError && /not-a-ca\.pem/.test(err.message),
      );
      await assert.rejects(
        startFed([...ZONE, '--tls-cert', join(dir, 'not-a-ca.pem'), '--tls-key', join(dir, 'not-a-ca.pem')]),
        TlsFileError,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('federation with an auth file over an auth-on zone', { timeout: 120_000 }, () => {
  let dir: string;
  let authFile: string;
  let zone: TestZone;
  let fed: FederationServer;
  const cleanups: (() => Promise<void>)[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cairn-fed-auth-'));
    authFile = await writeAuthFile(dir);
    zone = await startZone(authFile);
    assert.equal((await api('PUT', `${zone.url}/v1/namespaces/alpha`, { bearer: OPS, json: {} })).status, 200);
    for (const ip of ['10.0.0.1', '10.0.0.2']) {
      const r = await api('POST', `${zone.url}/v1/instances`, {
        bearer: WRITE_ALPHA,
        json: { namespace: 'alpha', service: 'orders', ip, port: 8080, ephemeral: false },
      });
      assert.equal(r.status, 200, r.text);
    }
    const p = await api('POST', `${zone.url}/v1/instances`, {
      bearer: OPS,
      json: { service: 'payments', ip: '10.0.1.1', port: 9090, ephemeral: false },
    });
    assert.equal(p.status, 200, p.text);
    fed = await startFed(['--zone', `az1=${zone.url}`, '--auth-file', authFile, '--zone-token', ZONE_TOKEN], {
      plugins: [federationWatchApi, federationNacosApi],
    });
    await waitUntil(() => fed.view.counts().instances === 3, 'the federation sees the zone through its zone token');
  });

  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    await fed?.close();
    await zone?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('REST: anonymous refused (401), readers per namespace (403 elsewhere), admins everywhere', async () => {
    for (const path of [
      '/v1/zones',
      '/v1/zones/az1',
      '/v1/namespaces',
      '/v1/services',
      '/v1/services?namespace=alpha',
      '/v1/services/alpha/DEFAULT_GROUP/orders',
      '/v1/zones/az1/cluster',
    ]) {
      const r = await api('GET', fed.url + path);
      assert.equal(r.status, 401, `anonymous GET ${path}`);
      assert.equal(r.body.code, 'UNAUTHENTICATED');
    }
    const bad = await api('GET', `${fed.url}/v1/services?namespace=alpha`, { bearer: 'not-a-token-at-all-0123' });
    assert.equal(bad.status, 401);
    // Open: health, readiness, metrics (no metricsAuth), who am I.
    for (const path of ['/healthz', '/readyz', '/metrics'])
      assert.equal((await api('GET', fed.url + path)).status, 200);
    assert.equal((await api('GET', `${fed.url}/v1/auth/me`)).body.identity.kind, 'anonymous');

    // A reader of alpha reads alpha, and nothing that spans or names another namespace.
    const list = await api('GET', `${fed.url}/v1/services?namespace=alpha`, { bearer: READ_ALPHA });
    assert.equal(list.status, 200);
    assert.deepEqual(
      list.body.services.map((s: { service: string }) => s.service),
      ['orders'],
    );
    const one = await api('GET', `${fed.url}/v1/services/alpha/DEFAULT_GROUP/orders`, { bearer: READ_ALPHA });
    assert.equal(one.status, 200);
    assert.equal(one.body.service.instances.length, 2);
    for (const path of [
      '/v1/services',
      '/v1/services?namespace=public',
      '/v1/services/public/DEFAULT_GROUP/payments',
      '/v1/zones',
      '/v1/namespaces',
      '/v1/zones/az1/cluster',
    ]) {
      const r = await api('GET', fed.url + path, { bearer: READ_ALPHA });
      assert.equal(r.status, 403, `reader GET ${path}`);
      assert.equal(r.body.code, 'FORBIDDEN');
      assert.doesNotMatch(r.text, /alpha-token|ops-admin/);
    }
    // An admin of every namespace reads everything, the zone's cluster included (read with the zone token).
    const all = await api('GET', `${fed.url}/v1/services`, { bearer: OPS });
    assert.deepEqual(
      all.body.services.map((s: { service: string }) => s.service),
      ['orders', 'payments'],
    );
    assert.equal((await api('GET', `${fed.url}/v1/zones`, { bearer: OPS })).body.zones[0].state, 'live');
    const cluster = await api('GET', `${fed.url}/v1/zones/az1/cluster`, { bearer: OPS });
    assert.equal(cluster.status, 200, cluster.text);
    assert.equal(cluster.body.zone, 'az1');
    // Refusals are counted by reason and surface.
    const refusals = fed.app.cairnAuth?.refusals.snapshot() ?? [];
    const count = (reason: string) =>
      refusals.filter(([k]) => k.reason === reason && k.surface === 'rest').reduce((n, [, v]) => n + v, 0);
    assert.ok(count('missing_credentials') >= 7);
    assert.ok(count('forbidden') >= 6);
    const metrics = await api('GET', `${fed.url}/metrics`);
    assert.match(metrics.text, /cairn_auth_refusals_total\{[^}]*reason="forbidden",surface="rest"[^}]*\} [1-9]/);
  });

  test('login on the federation issues tokens the federation and the zone accept', async () => {
    const wrong = await api('POST', `${fed.url}/v1/auth/login`, { json: { username: 'reader', password: 'nope' } });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.message, 'wrong username or password');
    const unknown = await api('POST', `${fed.url}/v1/auth/login`, { json: { username: 'ghost', password: 'nope' } });
    assert.deepEqual([unknown.status, unknown.body.message], [401, 'wrong username or password']);
    const login = await api('POST', `${fed.url}/v1/auth/login`, {
      json: { username: 'reader', password: passwordOf('reader') },
    });
    assert.equal(login.status, 200);
    assert.equal(login.body.tokenType, 'Bearer');
    const token = login.body.accessToken as string;
    const me = await api('GET', `${fed.url}/v1/auth/me`, { bearer: token });
    assert.deepEqual(me.body, {
      enabled: true,
      identity: { kind: 'user', name: 'reader', roles: [{ namespace: 'alpha', role: 'read' }] },
    });
    assert.equal((await api('GET', `${fed.url}/v1/services?namespace=alpha`, { bearer: token })).status, 200);
    assert.equal((await api('GET', `${fed.url}/v1/services`, { bearer: token })).status, 403);
    // The zone shares the auth file: the same token holds there.
    assert.equal((await api('GET', `${zone.url}/v1/services?namespace=alpha`, { bearer: token })).status, 200);
  });

  test('watch: the upgrade needs credentials; each subscription read on its namespaces', async () => {
    const wsUrl = `${fed.url.replace(/^http/, 'ws')}/v1/watch`;
    assert.equal(await Socket.open(wsUrl), 401);
    assert.equal(await Socket.open(wsUrl, { headers: { authorization: 'Bearer wrong-token-0123456789' } }), 401);

    const reader = await Socket.open(wsUrl, { headers: { authorization: `Bearer ${READ_ALPHA}` } });
    assert.ok(reader instanceof Socket);
    cleanups.push(async () => reader.close());
    await reader.next((m) => m.type === 'hello');
    reader.send({ type: 'subscribe', sub: 's1', services: [ALPHA_ORDERS] });
    await reader.next((m) => m.type === 'subscribed' && m.sub === 's1');
    const snap = await reader.next((m) => m.type === 'snapshot' && m.sub === 's1' && m.last);
    assert.equal(snap.instances.length, 2);
    reader.send({ type: 'subscribe', sub: 's2', all: true });
    const all = await reader.next((m) => m.type === 'error' && m.sub === 's2');
    assert.equal(all.code, 'FORBIDDEN');
    reader.send({ type: 'subscribe', sub: 's3', services: [ALPHA_ORDERS, PUBLIC_PAYMENTS] });
    assert.equal((await reader.next((m) => m.type === 'error' && m.sub === 's3')).code, 'FORBIDDEN');
    // Zone states span every namespace: not sent to a reader of one.
    assert.ok(!reader.messages.some((m) => m.type === 'zones'));

    // The admin UI's credential: a subprotocol after cairn.v1; the answer is cairn.v1.
    const browser = await Socket.open(wsUrl, { protocols: ['cairn.v1', bearerProtocol(OPS)] });
    assert.ok(browser instanceof Socket);
    cleanups.push(async () => browser.close());
    assert.equal(browser.ws.protocol, 'cairn.v1');
    browser.send({ type: 'subscribe', sub: 'everything', all: true });
    const everything = await browser.next((m) => m.type === 'snapshot' && m.last);
    assert.equal(everything.instances.length, 3);
    assert.ok(
      browser.messages.some((m) => m.type === 'zones'),
      'an admin of * gets zone states',
    );
    assert.equal(await Socket.open(wsUrl, { protocols: ['cairn.v1', bearerProtocol('wrong-token-0123456789')] }), 401);
    assert.equal(await Socket.open(wsUrl, { protocols: ['cairn.v1', 'cairn.bearer.AB'] }), 401);
  });

  test('zone sockets take the same subprotocol credential, answered with cairn.v1', async () => {
    const wsUrl = `${zone.url.replace(/^http/, 'ws')}/v1/watch`;
    assert.equal(await Socket.open(wsUrl, { protocols: ['cairn.v1'] }), 401);
    // Offered first or second, the token is never the answer.
    for (const protocols of [
      ['cairn.v1', bearerProtocol(READ_ALPHA)],
      [bearerProtocol(READ_ALPHA), 'cairn.v1'],
    ]) {
      const s = await Socket.open(wsUrl, { protocols });
      assert.ok(s instanceof Socket, `offered ${protocols.join(', ')}`);
      try {
        assert.equal(s.ws.protocol, 'cairn.v1');
        s.send({ type: 'subscribe', sub: 'a', services: [ALPHA_ORDERS] });
        assert.equal((await s.next((m) => m.type === 'snapshot' && m.last)).instances.length, 2);
        s.send({ type: 'subscribe', sub: 'b', all: true });
        assert.equal((await s.next((m) => m.type === 'error' && m.sub === 'b')).code, 'FORBIDDEN');
      } finally {
        s.close();
      }
    }
    assert.equal(await Socket.open(wsUrl, { protocols: ['cairn.v1', bearerProtocol('wrong-token-0123456789')] }), 401);
  });

  test('Nacos reads need read on namespaceId; the Nacos login is real', async () => {
    const list = (q: Record<string, string>) =>
      api('GET', `${fed.url}/nacos/v1/ns/instance/list?${new URLSearchParams(q).toString()}`);
    // Nacos answers 403 for missing credentials too (as the zone's Nacos API does).
    const anonymous = await list({ serviceName: 'orders', namespaceId: 'alpha' });
    assert.equal(anonymous.status, 403);
    assert.match(anonymous.text, /needs credentials/);
    const ok = await list({ serviceName: 'orders', namespaceId: 'alpha', accessToken: READ_ALPHA });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.body.hosts.length, 2);
    assert.equal((await list({ serviceName: 'payments', accessToken: READ_ALPHA })).status, 403);
    const consoleNs = await api('GET', `${fed.url}/nacos/v1/console/namespaces?accessToken=${READ_ALPHA}`);
    assert.equal(consoleNs.status, 403);
    assert.equal((await api('GET', `${fed.url}/nacos/v1/console/namespaces?accessToken=${OPS}`)).status, 200);

    const login = (username: string, password: string) =>
      api('POST', `${fed.url}/nacos/v1/auth/login`, { form: { username, password } });
    const refused = await login('reader', 'wrong');
    assert.deepEqual([refused.status, refused.text], [403, 'user not found!']);
    const good = await login('reader', passwordOf('reader'));
    assert.equal(good.status, 200);
    assert.equal(good.body.globalAdmin, false);
    const token = good.body.accessToken as string;
    const withLogin = await list({ serviceName: 'orders', namespaceId: 'alpha', accessToken: token });
    assert.equal(withLogin.status, 200);
    // Username and password on the request itself, as Nacos clients may send them.
    const inline = (password: string) =>
      list({ serviceName: 'orders', namespaceId: 'alpha', username: 'reader', password });
    assert.equal((await inline('x')).status, 403);
    assert.equal((await inline(passwordOf('reader'))).status, 200);
    const root = await login('root', passwordOf('root'));
    assert.equal(root.body.globalAdmin, true);
  });

  test("zone actions are forwarded with the caller's token: the zone decides", async () => {
    const disable = (bearer?: string) =>
      api('PATCH', `${fed.url}/v1/zones/az1/instances`, {
        ...(bearer ? { bearer } : {}),
        json: { namespace: 'alpha', service: 'orders', ip: '10.0.0.1', port: 8080, enabled: false },
      });
    const anonymous = await disable();
    assert.deepEqual([anonymous.status, anonymous.body.code], [401, 'UNAUTHENTICATED']);
    const reader = await disable(READ_ALPHA);
    assert.deepEqual([reader.status, reader.body.code], [403, 'FORBIDDEN']);
    const admin = await disable(OPS);
    assert.equal(admin.status, 200, admin.text);
    assert.equal(admin.body.instance.enabled, false);
    await waitUntil(
      () => fed.view.service(ALPHA_ORDERS)?.instances.some((i) => i.ip === '10.0.0.1' && !i.enabled) ?? false,
      'the federation sees the instance disabled',
    );
    const weight = (bearer: string) => api('PUT', `${fed.url}/v1/zones/az1/weight`, { bearer, json: { weight: 100 } });
    assert.equal((await weight(WRITE_ALPHA)).status, 403);
    assert.equal((await weight(OPS)).status, 200);
    const back = await api('PATCH', `${fed.url}/v1/zones/az1/instances`, {
      bearer: WRITE_ALPHA,
      json: { namespace: 'alpha', service: 'orders', ip: '10.0.0.1', port: 8080, enabled: true },
    });
    assert.equal(back.status, 200, back.text);
  });

  test('zone watchers: a wrong, missing or too weak zone token leaves the zone not live, with the reason', async () => {
    const cases = [
      { name: 'wrong', args: ['--zone-token', 'wrong-zone-token-0123456789'], reason: 'unauthenticated' },
      { name: 'missing', args: [], reason: 'unauthenticated' },
      { name: 'weak', args: ['--zone-token', READ_ALPHA], reason: 'forbidden' },
    ] as const;
    for (const c of cases) {
      const { logger, lines } = capturingLogger();
      const other = await startFed(['--zone', `az1=${zone.url}`, ...c.args], { logger });
      try {
        const watcher = other.watchers[0]!;
        const refused = () => watcher.stats.refusedUnauthenticated + watcher.stats.refusedForbidden;
        await waitUntil(() => refused() >= 2, `${c.name}: the zone refuses the watch, again after a backoff`);
        // Never reached: the zone stays connecting (not live), and its instances are not served.
        assert.equal(other.view.zone('az1')?.state, 'connecting');
        assert.equal(other.view.counts().instances, 0);
        assert.match(watcher.stats.lastError ?? '', c.reason === 'forbidden' ? /FORBIDDEN/ : /UNAUTHENTICATED/);
        assert.match(
          watcher.stats.lastError ?? '',
          c.name === 'missing' ? /give --zone-token/ : c.name === 'weak' ? /needs read on \*/ : /does not accept/,
        );
        const metrics = await api('GET', `${other.url}/metrics`);
        assert.match(
          metrics.text,
          new RegExp(`cairn_federation_zone_refusals_total\\{[^}]*reason="${c.reason}"[^}]*\\} [1-9]`),
          c.name,
        );
        const logged = lines.find((l) => String(l['msg']).startsWith('cannot watch the zone'));
        assert.ok(logged, `${c.name}: logged`);
        assert.equal(logged['level'], 50);
        // The token itself is never logged.
        assert.ok(!JSON.stringify(lines).includes('wrong-zone-token'));
        assert.ok(!JSON.stringify(lines).includes(READ_ALPHA));
      } finally {
        await other.close();
      }
    }
  });
});

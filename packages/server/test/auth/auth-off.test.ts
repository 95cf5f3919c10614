// Without an auth file nothing changes for clients (every request allowed, Nacos logins accept
// anything), and a replica started in a production shape says so once at start. With one, refusals
// are logged with the identity, never with a token or a password.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type AuthServer,
  authFileContent,
  call,
  capturingLogger,
  openSession,
  openWatch,
  startAuthServer,
  TOKENS,
} from './auth-harness.js';

describe('auth off (no auth file)', () => {
  let srv: AuthServer;
  before(async () => {
    srv = await startAuthServer(null);
  });
  after(() => srv?.stop());

  it('allows every request without credentials, as before', async () => {
    const me = await call(srv.url, 'GET', '/v1/auth/me');
    assert.equal(me.body.enabled, false);
    const login = await call(srv.url, 'POST', '/v1/auth/login', { json: { username: 'a', password: 'b' } });
    assert.equal(login.status, 404);
    assert.match(login.body.message, /authentication is off/);
    assert.equal((await call(srv.url, 'PUT', '/v1/namespaces/alpha', { json: {} })).status, 200);
    const reg = await call(srv.url, 'POST', '/v1/instances', {
      json: { namespace: 'alpha', service: 'a', ip: '10.0.0.1', port: 1, ephemeral: false },
    });
    assert.equal(reg.status, 200);
    assert.equal((await call(srv.url, 'PUT', '/v1/zones/az1/weight', { json: { weight: 50 } })).status, 200);
    // Credentials are ignored, even bad ones.
    assert.equal((await call(srv.url, 'GET', '/v1/namespaces', { bearer: 'whatever' })).status, 200);
    const metrics = await call(srv.url, 'GET', '/metrics');
    assert.equal(metrics.status, 200);
    assert.doesNotMatch(metrics.text, /cairn_auth_refusals_total/);
  });

  it('the Nacos login accepts any username and password, as before', async () => {
    const a = await call(srv.url, 'POST', '/nacos/v1/auth/login?username=x&password=y');
    assert.equal(a.status, 200);
    assert.equal(a.body.globalAdmin, true);
    assert.equal((await call(srv.url, 'POST', '/nacos/v1/auth/login?username=x')).status, 400);
  });

  it('push sockets need no credentials', async () => {
    const w = await openWatch(srv.url);
    assert.notEqual(typeof w, 'number');
    if (typeof w === 'number') return;
    await w.take((m) => m.type === 'hello');
    w.send({ type: 'subscribe', sub: 's', all: true });
    await w.take((m) => m.type === 'subscribed');
    w.ws.terminate();
    const s = await openSession(srv.url);
    assert.notEqual(typeof s, 'number');
    if (typeof s !== 'number') s.ws.terminate();
  });
});

describe('start-up warnings and refusal logs', () => {
  it('a replica with peers and no auth file warns once that auth is off', async (t) => {
    const { logger, lines } = capturingLogger();
    const srv = await startAuthServer(null, { logger, peers: true });
    t.after(() => srv.stop());
    const warnings = lines.filter((l) => /no --auth-file given/.test(String(l.msg)));
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]?.level, 40);
  });

  it('with an auth file: no such warning; the file is named, and refusals are logged without secrets', async (t) => {
    const { logger, lines } = capturingLogger();
    const srv = await startAuthServer(await authFileContent(), { logger, peers: true });
    t.after(() => srv.stop());
    assert.equal(lines.filter((l) => /no --auth-file given/.test(String(l.msg))).length, 0);
    assert.ok(lines.some((l) => l.msg === 'auth: on' && l.users === 3 && l.tokens === 3));

    const secretToken = 'never-log-this-token-0123456789';
    await call(srv.url, 'GET', `/v1/namespaces?accessToken=${secretToken}`);
    await call(
      srv.url,
      'GET',
      '/nacos/v1/ns/service/list?pageNo=1&pageSize=10&username=root&password=never-log-this-password',
    );
    await call(srv.url, 'GET', '/v1/namespaces', { bearer: TOKENS['read-alpha'].token });
    await call(srv.url, 'GET', '/v1/namespaces');
    const refusals = lines.filter((l) => l.msg === 'auth: request refused');
    assert.deepEqual(
      refusals.map((l) => [l.identity, l.reason, l.surface, l.path]),
      [
        ['unknown', 'bad_credentials', 'native', '/v1/namespaces'],
        ['unknown', 'bad_credentials', 'nacos', '/nacos/v1/ns/service/list'],
        ['token:read-alpha', 'forbidden', 'native', '/v1/namespaces'],
        ['anonymous', 'missing_credentials', 'native', '/v1/namespaces'],
      ],
    );
    const all = JSON.stringify(lines);
    assert.doesNotMatch(all, /never-log-this/);
    assert.doesNotMatch(all, new RegExp(TOKENS['read-alpha'].token));
  });
});

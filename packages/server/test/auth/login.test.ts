// Logging in and presenting credentials: native and Nacos logins, the same answer for an unknown user
// and a wrong password, access tokens that expire or are tampered with, every place a Nacos client
// may put its credentials, the shared per-IP login rate limit, and anonymous roles.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { sleep } from '../helpers/zone-cluster.js';
import {
  type AuthServer,
  authFileContent,
  call,
  login,
  passwordOf,
  startAuthServer,
  TOKEN_SECRET,
  TOKENS,
} from './auth-harness.js';

describe('logins and access tokens', () => {
  let srv: AuthServer;
  before(async () => {
    srv = await startAuthServer(
      await authFileContent({ tokenTtlS: 1, loginRateLimit: { max: 1000, windowMs: 60_000 } }),
    );
    assert.equal(
      (await call(srv.url, 'PUT', '/v1/namespaces/alpha', { bearer: TOKENS.ops.token, json: {} })).status,
      200,
    );
  });
  after(() => srv?.stop());

  it('a user logs in for a bearer token that says who it is', async () => {
    const a = await call(srv.url, 'POST', '/v1/auth/login', {
      json: { username: 'root', password: passwordOf('root') },
    });
    assert.equal(a.status, 200);
    assert.deepEqual(Object.keys(a.body).sort(), ['accessToken', 'expiresInS', 'tokenType', 'username']);
    assert.equal(a.body.tokenType, 'Bearer');
    assert.equal(a.body.expiresInS, 1);
    assert.equal(a.body.username, 'root');
    assert.equal(a.headers.get('cache-control'), 'no-store');
    const me = await call(srv.url, 'GET', '/v1/auth/me', { bearer: a.body.accessToken });
    assert.deepEqual(me.body, {
      enabled: true,
      identity: { kind: 'user', name: 'root', roles: [{ namespace: '*', role: 'admin' }] },
    });
  });

  it('answers an unknown user and a wrong password alike: 401 UNAUTHENTICATED', async () => {
    const wrong = await call(srv.url, 'POST', '/v1/auth/login', { json: { username: 'root', password: 'nope-nope' } });
    const unknown = await call(srv.url, 'POST', '/v1/auth/login', {
      json: { username: 'mallory', password: 'nope-nope' },
    });
    assert.equal(wrong.status, 401);
    assert.equal(unknown.status, 401);
    assert.deepEqual(wrong.body, { code: 'UNAUTHENTICATED', message: 'wrong username or password' });
    assert.deepEqual(unknown.body, wrong.body);
    const bad = await call(srv.url, 'POST', '/v1/auth/login', { json: { username: 'root' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'VALIDATION_FAILED');
  });

  it('refuses an expired access token with 401, and says it expired', async () => {
    const token = await login(srv.url, 'writer');
    assert.equal((await call(srv.url, 'GET', '/v1/services?namespace=alpha', { bearer: token })).status, 200);
    await sleep(2100);
    const a = await call(srv.url, 'GET', '/v1/services?namespace=alpha', { bearer: token });
    assert.equal(a.status, 401);
    assert.deepEqual(a.body, { code: 'UNAUTHENTICATED', message: 'the access token has expired; log in again' });
  });

  it('refuses tampered and forged tokens with 401', async () => {
    const token = await login(srv.url, 'reader');
    const [head, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const asRoot = Buffer.from(JSON.stringify({ ...claims, sub: 'root' })).toString('base64url');
    const otherKey = new TextEncoder().encode('another-secret-that-is-long-enough-0123');
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('root')
      .setIssuer('cairn')
      .setAudience('cairn')
      .setExpirationTime('1h')
      .sign(otherKey);
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${asRoot}.`;
    const flipped = `${head}.${payload}.${signature.slice(0, -2)}${signature.endsWith('A') ? 'BB' : 'AA'}`;
    for (const bad of [`${head}.${asRoot}.${signature}`, forged, unsigned, flipped, 'not-a-token']) {
      const a = await call(srv.url, 'GET', '/v1/namespaces', { bearer: bad });
      assert.equal(a.status, 401, bad);
      assert.deepEqual(a.body, { code: 'UNAUTHENTICATED', message: 'the credentials were not accepted' });
    }
    const basic = await call(srv.url, 'GET', '/v1/namespaces', { headers: { authorization: 'Basic cm9vdDpwdw==' } });
    assert.equal(basic.status, 401);
  });

  it('a token signed with the shared secret is accepted by any server with the same auth file', async () => {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('root')
      .setIssuer('cairn')
      .setAudience('cairn')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(TOKEN_SECRET));
    assert.equal((await call(srv.url, 'GET', '/v1/namespaces', { bearer: token })).status, 200);
  });

  it('Nacos: login answers the Nacos token shape; bad credentials are 403 user not found!', async () => {
    for (const path of ['/nacos/v1/auth/login', '/nacos/v1/auth/users/login']) {
      const a = await call(srv.url, 'POST', path, { form: { username: 'writer', password: passwordOf('writer') } });
      assert.equal(a.status, 200, a.text);
      assert.deepEqual(Object.keys(a.body).sort(), ['accessToken', 'globalAdmin', 'tokenTtl', 'username']);
      assert.equal(a.body.globalAdmin, false);
      assert.equal(a.headers.get('authorization'), `Bearer ${a.body.accessToken}`);
      // The same access token works on the native API.
      assert.equal(
        (await call(srv.url, 'GET', '/v1/services?namespace=alpha', { bearer: a.body.accessToken })).status,
        200,
      );
      for (const form of [
        { username: 'writer', password: 'wrong-password' },
        { username: 'nobody', password: 'wrong-password' },
      ]) {
        const refused = await call(srv.url, 'POST', path, { form });
        assert.equal(refused.status, 403);
        assert.equal(refused.text, 'user not found!');
      }
    }
    const root = await call(srv.url, 'POST', '/nacos/v1/auth/login?username=root&password=root-password');
    assert.equal(root.body.globalAdmin, true);
  });

  it('Nacos: credentials as accessToken (query or form), Bearer header, or username and password', async () => {
    const token = await login(srv.url, 'writer');
    const register = (extra: Record<string, string>, form?: Record<string, string>, bearer?: string) =>
      call(
        srv.url,
        'POST',
        `/nacos/v1/ns/instance?${new URLSearchParams({ serviceName: 'svc', namespaceId: 'alpha', ip: '10.9.0.1', port: '80', ...extra })}`,
        {
          ...(form ? { form } : {}),
          ...(bearer ? { bearer } : {}),
        },
      );
    assert.equal((await register({ accessToken: token })).status, 200);
    assert.equal((await register({}, { accessToken: token })).status, 200);
    assert.equal((await register({}, undefined, token)).status, 200);
    assert.equal((await register({ username: 'writer', password: passwordOf('writer') })).status, 200);
    assert.equal((await register({}, { username: 'writer', password: passwordOf('writer') })).status, 200);
    assert.equal((await register({ accessToken: TOKENS['write-alpha'].token })).status, 200);
    const refused = await register({ username: 'writer', password: 'wrong-password' });
    assert.equal(refused.status, 403);
    assert.equal(refused.text, 'the credentials were not accepted');
    const none = await register({});
    assert.equal(none.status, 403);
    assert.match(none.text, /needs credentials/);
    const reader = await register({ username: 'reader', password: passwordOf('reader') });
    assert.equal(reader.status, 403);
    assert.equal(reader.text, "user:reader may not write in namespace 'alpha'");
  });

  it('health, readiness, cluster status and the API description stay open', async () => {
    for (const path of ['/healthz', '/readyz', '/v1/cluster', '/openapi.json', '/docs']) {
      assert.equal((await call(srv.url, 'GET', path)).status, 200, path);
    }
    // /metrics is open unless the auth file says metricsAuth.
    assert.equal((await call(srv.url, 'GET', '/metrics')).status, 200);
    const me = await call(srv.url, 'GET', '/v1/auth/me');
    assert.deepEqual(me.body, { enabled: true, identity: { kind: 'anonymous', name: 'anonymous', roles: [] } });
  });
});

describe('the login rate limit', () => {
  let srv: AuthServer;
  before(async () => {
    srv = await startAuthServer(await authFileContent({ loginRateLimit: { max: 3, windowMs: 60_000 } }));
  });
  after(() => srv?.stop());

  it('refuses logins past the limit with 429 RATE_LIMITED, on the native and Nacos logins together', async () => {
    const attempt = () =>
      call(srv.url, 'POST', '/v1/auth/login', { json: { username: 'root', password: 'guess-guess' } });
    assert.equal((await attempt()).status, 401);
    assert.equal((await attempt()).status, 401);
    assert.equal((await call(srv.url, 'POST', '/nacos/v1/auth/login?username=root&password=guess')).status, 403);
    const limited = await attempt();
    assert.equal(limited.status, 429);
    assert.equal(limited.body.code, 'RATE_LIMITED');
    assert.ok(Number(limited.headers.get('retry-after')) > 0);
    // Even the right password waits for the window.
    const right = await call(srv.url, 'POST', '/v1/auth/login', {
      json: { username: 'root', password: passwordOf('root') },
    });
    assert.equal(right.status, 429);
    const nacos = await call(srv.url, 'POST', '/nacos/v1/auth/login?username=root&password=root-password');
    assert.equal(nacos.status, 429);
    // Other requests are not limited.
    assert.equal((await call(srv.url, 'GET', '/v1/namespaces', { bearer: TOKENS.ops.token })).status, 200);
    const metrics = (await call(srv.url, 'GET', '/metrics')).text;
    assert.match(metrics, /cairn_auth_refusals_total\{[^}]*reason="rate_limited"[^}]*surface="login"[^}]*\} 3/);
    assert.match(metrics, /cairn_auth_refusals_total\{[^}]*reason="bad_credentials"[^}]*surface="login"[^}]*\} 3/);
  });
});

describe('anonymous roles and plain tokens', () => {
  let srv: AuthServer;
  before(async () => {
    const base = await authFileContent({ anonymous: [{ namespace: 'public', role: 'read' }] });
    const tokens = [
      ...(base.tokens as unknown[]),
      { name: 'plain', token: 'plain-token-0123456789', roles: [{ namespace: 'public', role: 'write' }] },
    ];
    srv = await startAuthServer({ ...base, tokens });
  });
  after(() => srv?.stop());

  it('anonymous callers get the anonymous roles, and 401 beyond them', async () => {
    assert.equal((await call(srv.url, 'GET', '/v1/services?namespace=public')).status, 200);
    const write = await call(srv.url, 'POST', '/v1/instances', {
      json: { service: 'a', ip: '10.0.0.1', port: 1, ephemeral: false },
    });
    assert.equal(write.status, 401);
    assert.equal(write.body.code, 'UNAUTHENTICATED');
    assert.equal((await call(srv.url, 'GET', '/v1/namespaces')).status, 401);
  });

  it('a token stored in plain text still works (the server warns about it at start)', async () => {
    const write = await call(srv.url, 'POST', '/v1/instances', {
      bearer: 'plain-token-0123456789',
      json: { service: 'a', ip: '10.0.0.1', port: 1, ephemeral: false },
    });
    assert.equal(write.status, 200);
  });
});

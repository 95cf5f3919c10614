// The auth plugin on a server that is not a zone replica: the federation's shape (its REST reads,
// forwarded zone actions, Nacos reads, watch, metrics), registered first with createAuthPlugin. Routes
// nobody classified are closed by default.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { installErrorHandler } from '../../src/api/error-handler.js';
import { parseAuthConfig } from '../../src/auth/auth-config.js';
import { authGuardOf, createAuthPlugin } from '../../src/auth/auth-plugin.js';
import { authFileContent, call, TOKENS } from './auth-harness.js';

const READ_ALPHA = TOKENS['read-alpha'].token;
const ADMIN = TOKENS.ops.token;

describe('createAuthPlugin on a federation-shaped server', () => {
  let app: FastifyInstance;
  let url: string;

  before(async () => {
    const auth = parseAuthConfig(await authFileContent({ metricsAuth: true }), { source: 'test', baseDir: '.' });
    app = Fastify();
    installErrorHandler(app);
    await app.register(createAuthPlugin(auth));
    const ok = async () => ({ ok: true });
    await app.register(async (scope) => {
      for (const path of ['/v1/zones', '/v1/zones/:zone/cluster', '/v1/namespaces', '/v1/services'])
        scope.get(path, ok);
      scope.get('/v1/services/:namespace/:group/:service', ok);
      scope.patch('/v1/zones/:zone/instances', ok);
      scope.put('/v1/zones/:zone/weight', ok);
      scope.get('/nacos/v1/ns/instance/list', ok);
      scope.get('/nacos/v1/console/namespaces', ok);
      scope.get('/v1/watch', ok);
      scope.get('/metrics', ok);
      scope.post('/v1/something-new', ok);
      scope.get('/v1/checks-itself', { config: { auth: 'self' } }, async (req) => {
        await authGuardOf(scope)?.authorize(req, 'rest', 'write', ['alpha']);
        return { ok: true };
      });
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address();
    url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  });
  after(() => app?.close());

  const cases: [string, string, string | undefined, number][] = [
    ['GET', '/v1/services?namespace=alpha', READ_ALPHA, 200],
    ['GET', '/v1/services?namespace=beta', READ_ALPHA, 403],
    ['GET', '/v1/services', READ_ALPHA, 403],
    ['GET', '/v1/services?namespace=alpha&namespace=beta', READ_ALPHA, 403],
    ['GET', '/v1/services', ADMIN, 200],
    ['GET', '/v1/services/alpha/DEFAULT_GROUP/orders', READ_ALPHA, 200],
    ['GET', '/v1/services/beta/DEFAULT_GROUP/orders', READ_ALPHA, 403],
    ['GET', '/v1/services/alpha/DEFAULT_GROUP/orders', undefined, 401],
    ['GET', '/v1/zones', READ_ALPHA, 403],
    ['GET', '/v1/zones', ADMIN, 200],
    ['GET', '/v1/zones/az1/cluster', ADMIN, 200],
    ['GET', '/v1/namespaces', READ_ALPHA, 403],
    // Zone actions are forwarded with the caller's credentials: the zone decides.
    ['PATCH', '/v1/zones/az1/instances', undefined, 200],
    ['PUT', '/v1/zones/az1/weight', undefined, 200],
    ['GET', '/nacos/v1/ns/instance/list?serviceName=a&namespaceId=alpha', READ_ALPHA, 200],
    ['GET', `/nacos/v1/ns/instance/list?serviceName=a&namespaceId=alpha&accessToken=${READ_ALPHA}`, undefined, 200],
    ['GET', '/nacos/v1/ns/instance/list?serviceName=a&namespaceId=beta', READ_ALPHA, 403],
    ['GET', '/nacos/v1/ns/instance/list?serviceName=a', READ_ALPHA, 403],
    ['GET', '/nacos/v1/console/namespaces', READ_ALPHA, 403],
    ['GET', '/nacos/v1/console/namespaces', ADMIN, 200],
    // A watch that does not check per subscription needs read on every namespace.
    ['GET', '/v1/watch', READ_ALPHA, 403],
    ['GET', '/v1/watch', ADMIN, 200],
    ['GET', '/metrics', READ_ALPHA, 403],
    ['GET', '/metrics', ADMIN, 200],
    ['POST', '/v1/something-new', TOKENS['write-alpha'].token, 403],
    ['POST', '/v1/something-new', ADMIN, 200],
    ['GET', '/v1/checks-itself', READ_ALPHA, 403],
    ['GET', '/v1/checks-itself', TOKENS['write-alpha'].token, 200],
    ['GET', '/v1/checks-itself', undefined, 401],
    ['GET', '/v1/no-such-route', undefined, 404],
  ];
  for (const [method, path, bearer, status] of cases) {
    const who = bearer === undefined ? 'anonymous' : bearer === ADMIN ? 'admin' : bearer.split('-token')[0];
    it(`${method} ${path} as ${who}: ${status}`, async () => {
      const a = await call(url, method, path, { bearer });
      assert.equal(a.status, status, a.text);
    });
  }

  it('logs in on this server too, with the same file', async () => {
    const a = await call(url, 'POST', '/v1/auth/login', { json: { username: 'reader', password: 'reader-password' } });
    assert.equal(a.status, 200);
    assert.equal((await call(url, 'GET', '/v1/services?namespace=alpha', { bearer: a.body.accessToken })).status, 200);
  });
});

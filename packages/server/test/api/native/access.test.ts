import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ResolvedAccess } from '../../../src/api/native/access-control.js';
import { CairnError } from '../../../src/errors.js';
import { type FieldErrorBody, type NativeServer, persistent, startNativeServer } from './native-harness.js';

describe('native API: the authorization hook point', () => {
  let s: NativeServer;
  const seen: ResolvedAccess[] = [];
  before(async () => {
    s = await startNativeServer({
      authorize: (req, access) => {
        seen.push(access);
        assert.equal(req.routeOptions.config.access?.resource, access.resource, 'the route config declares it too');
        if (access.namespaces.includes('secret')) throw new CairnError('FORBIDDEN', 'no access to namespace secret');
      },
    });
  });
  after(() => s.stop());

  it('hands every route its resource, action and the namespaces the parsed request touches', async () => {
    seen.length = 0;
    assert.equal((await s.call('POST', '/v1/instances', persistent('orders', 1))).status, 200);
    assert.equal((await s.call('GET', '/v1/namespaces')).status, 200);
    await s.call('PUT', '/v1/instances/heartbeat/batch', {
      instances: [
        { service: 'a', ip: '10.0.0.1', port: 1 },
        { namespace: 'other', service: 'b', ip: '10.0.0.1', port: 1 },
      ],
    });
    assert.deepEqual(
      seen.map((a) => [a.operationId, a.resource, a.action, a.namespaces]),
      [
        ['registerInstance', 'instance', 'write', ['public']],
        ['listNamespaces', 'namespace', 'read', ['*']],
        ['heartbeatInstances', 'instance', 'write', ['public', 'other']],
      ],
    );
  });

  it('refuses what the authorizer refuses, and never calls it for invalid input', async () => {
    seen.length = 0;
    const refused = await s.call<FieldErrorBody>('GET', '/v1/services/secret/DEFAULT_GROUP/x');
    assert.equal(refused.status, 403);
    assert.equal(refused.body.code, 'FORBIDDEN');
    const admin = await s.call<FieldErrorBody>('PUT', '/v1/namespaces/secret', {});
    assert.equal(admin.status, 403);
    assert.equal(seen[1]?.action, 'admin');
    seen.length = 0;
    const invalid = await s.call<FieldErrorBody>('POST', '/v1/instances', { service: 'x' });
    assert.equal(invalid.status, 400);
    assert.equal(seen.length, 0);
  });
});

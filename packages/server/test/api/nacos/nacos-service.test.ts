import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type NacosServer, startNacosServer } from './nacos-harness.js';

describe('Nacos v1 service, namespace, login and metrics APIs', () => {
  let n: NacosServer;
  before(async () => {
    n = await startNacosServer();
  });
  after(() => n.stop());

  it('creates a service, shows it, updates it, and refuses a second create', async () => {
    const create = await n.node('POST', '/nacos/v1/ns/service', {
      serviceName: 'billing',
      groupName: 'PAY',
      namespaceId: 'public',
      protectThreshold: '0.25',
      metadata: 'owner=team-a',
      selector: JSON.stringify({ type: 'none' }),
    });
    assert.equal(create.status, 200, create.text);
    assert.equal(create.text, 'ok');
    const get = await n.node('GET', '/nacos/v1/ns/service', { serviceName: 'PAY@@billing' });
    assert.equal(get.status, 200);
    assert.equal(
      get.text,
      '{"namespaceId":"public","groupName":"PAY","name":"billing","protectThreshold":0.25,' +
        '"metadata":{"owner":"team-a"},"selector":{"type":"none"},"clusters":[]}',
    );
    const again = await n.node('POST', '/nacos/v1/ns/service', { serviceName: 'billing', groupName: 'PAY' });
    assert.equal(again.status, 400);
    assert.equal(again.text, 'specified service already exists, serviceName : PAY@@billing');

    const update = await n.node('PUT', '/nacos/v1/ns/service', {
      serviceName: 'PAY@@billing',
      protectThreshold: '0.5',
      metadata: '{"owner":"team-b"}',
    });
    assert.equal(update.text, 'ok');
    await n.node('POST', '/nacos/v1/ns/instance', {
      serviceName: 'PAY@@billing',
      ip: '10.2.0.1',
      port: 1,
      clusterName: 'east',
    });
    const after = await n.node('GET', '/nacos/v1/ns/service', { serviceName: 'billing', groupName: 'PAY' });
    assert.deepEqual(after.json(), {
      namespaceId: 'public',
      groupName: 'PAY',
      name: 'billing',
      protectThreshold: 0.5,
      metadata: { owner: 'team-b' },
      selector: { type: 'none' },
      clusters: [{ name: 'east', healthChecker: { type: 'TCP' }, metadata: {} }],
    });
    assert.match(after.text, /"protectThreshold":0\.5,/);
  });

  it('refuses service writes the way Nacos does', async () => {
    const noThreshold = await n.node('PUT', '/nacos/v1/ns/service', { serviceName: 'PAY@@billing' });
    assert.equal(noThreshold.status, 400);
    assert.equal(noThreshold.text, "Param 'protectThreshold' is required.");
    const unknown = await n.node('PUT', '/nacos/v1/ns/service', { serviceName: 'ghost', protectThreshold: '0' });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.text, 'service DEFAULT_GROUP@@ghost not found!');
    const get = await n.node('GET', '/nacos/v1/ns/service', { serviceName: 'ghost' });
    assert.equal(get.status, 400);
    assert.equal(get.text, 'service not found, namespace: public, serviceName: DEFAULT_GROUP@@ghost');
    const badSelector = await n.node('POST', '/nacos/v1/ns/service', {
      serviceName: 's1',
      selector: '{"type":"magic"}',
    });
    assert.equal(badSelector.status, 400);
    assert.equal(badSelector.text, 'not match any type of selector!');
    const noName = await n.node('POST', '/nacos/v1/ns/service', {});
    assert.equal(noName.status, 400);
    assert.equal(noName.text, "Param 'serviceName' is required.");
    const badThreshold = await n.node('POST', '/nacos/v1/ns/service', { serviceName: 's2', protectThreshold: '2' });
    assert.equal(badThreshold.status, 400);
    const deleteFull = await n.node('DELETE', '/nacos/v1/ns/service', { serviceName: 'PAY@@billing' });
    assert.equal(deleteFull.status, 400);
    assert.equal(
      deleteFull.text,
      "Service PAY@@billing is not empty, can't be delete. Please unregister instance first",
    );
    const deleteGhost = await n.node('DELETE', '/nacos/v1/ns/service', { serviceName: 'ghost' });
    assert.equal(deleteGhost.status, 400);
    assert.equal(deleteGhost.text, 'specified service not exist, serviceName : DEFAULT_GROUP@@ghost');
  });

  it('deletes an empty service', async () => {
    await n.node('DELETE', '/nacos/v1/ns/instance', {
      serviceName: 'PAY@@billing',
      ip: '10.2.0.1',
      port: 1,
      clusterName: 'east',
    });
    const del = await n.node('DELETE', '/nacos/v1/ns/service', { serviceName: 'billing', groupName: 'PAY' });
    assert.equal(del.status, 200, del.text);
    assert.equal(del.text, 'ok');
    assert.equal((await n.node('GET', '/nacos/v1/ns/service', { serviceName: 'PAY@@billing' })).status, 400);
  });

  it('lists service names of a group, one page at a time, with the total count', async () => {
    for (const s of ['list-c', 'list-a', 'list-b']) {
      assert.equal((await n.node('POST', '/nacos/v1/ns/service', { serviceName: s, groupName: 'LIST' })).text, 'ok');
    }
    await n.node('POST', '/nacos/v1/ns/service', { serviceName: 'elsewhere' });
    // As the Node client's getServiceList sends it.
    const page1 = await n.node('GET', '/nacos/v1/ns/service/list', {
      pageNo: '1',
      pageSize: '2',
      namespaceId: 'public',
      groupName: 'LIST',
    });
    assert.equal(page1.status, 200);
    assert.equal(page1.text, '{"count":3,"doms":["list-a","list-b"]}');
    const page2 = await n.node('GET', '/nacos/v1/ns/service/list', { pageNo: '2', pageSize: '2', groupName: 'LIST' });
    assert.deepEqual(page2.json(), { count: 3, doms: ['list-c'] });
    const beyond = await n.node('GET', '/nacos/v1/ns/service/list', { pageNo: '5', pageSize: '2', groupName: 'LIST' });
    assert.deepEqual(beyond.json(), { count: 3, doms: [] });
    const noPage = await n.node('GET', '/nacos/v1/ns/service/list', { pageSize: '2' });
    assert.equal(noPage.status, 400);
    assert.equal(noPage.text, "Param 'pageNo' is required.");
  });

  it('manages namespaces through the console API', async () => {
    const initial = await n.node('GET', '/nacos/v1/console/namespaces');
    assert.equal(initial.status, 200);
    const body = initial.json<{ code: number; message: null; data: Record<string, unknown>[] }>();
    assert.equal(body.code, 200);
    assert.equal(body.message, null);
    assert.deepEqual(body.data[0], {
      namespace: '',
      namespaceShowName: 'public',
      namespaceDesc: 'The default namespace',
      quota: 200,
      configCount: 0,
      type: 0,
    });

    const create = await n.node('POST', '/nacos/v1/console/namespaces', {
      customNamespaceId: 'staging',
      namespaceName: 'Staging',
      namespaceDesc: 'pre-production',
    });
    assert.equal(create.status, 200);
    assert.equal(create.text, 'true');
    assert.equal(
      (await n.node('POST', '/nacos/v1/console/namespaces', { customNamespaceId: 'staging', namespaceName: 'x' })).text,
      'false',
    );
    assert.equal(
      (await n.node('POST', '/nacos/v1/console/namespaces', { customNamespaceId: 'bad id!', namespaceName: 'x' })).text,
      'false',
    );
    assert.equal(
      (await n.node('POST', '/nacos/v1/console/namespaces', { customNamespaceId: 'ok-id', namespaceName: 'a@b' })).text,
      'false',
    );
    const generated = await n.node('POST', '/nacos/v1/console/namespaces', { namespaceName: 'Generated' });
    assert.equal(generated.text, 'true');
    const noName = await n.node('POST', '/nacos/v1/console/namespaces', { customNamespaceId: 'x' });
    assert.equal(noName.status, 400);
    assert.equal(noName.text, "Param 'namespaceName' is required.");

    const list = (await n.node('GET', '/nacos/v1/console/namespaces')).json<{ data: Record<string, unknown>[] }>().data;
    assert.deepEqual(
      list.find((d) => d.namespace === 'staging'),
      {
        namespace: 'staging',
        namespaceShowName: 'Staging',
        namespaceDesc: 'pre-production',
        quota: 200,
        configCount: 0,
        type: 2,
      },
    );
    const uuid = list.find((d) => d.namespaceShowName === 'Generated')?.namespace;
    assert.match(String(uuid), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

    const edit = await n.node('PUT', '/nacos/v1/console/namespaces', {
      namespace: 'staging',
      namespaceShowName: 'Staging 2',
      namespaceDesc: 'renamed',
    });
    assert.equal(edit.text, 'true');
    const one = await n.node('GET', '/nacos/v1/console/namespaces', { show: 'all', namespaceId: 'staging' });
    assert.equal(one.json().namespaceShowName, 'Staging 2');
    assert.equal(
      (await n.node('PUT', '/nacos/v1/console/namespaces', { namespace: 'ghost', namespaceShowName: 'x' })).text,
      'false',
    );
    const exists = await n.node('GET', '/nacos/v1/console/namespaces', {
      checkNamespaceIdExist: 'true',
      customNamespaceId: 'staging',
    });
    assert.equal(exists.text, 'true');

    // Not while it holds a service; then yes; the public namespace never.
    await n.node('POST', '/nacos/v1/ns/service', { serviceName: 'inside', namespaceId: 'staging' });
    assert.equal((await n.node('DELETE', '/nacos/v1/console/namespaces', { namespaceId: 'staging' })).text, 'false');
    await n.node('DELETE', '/nacos/v1/ns/service', { serviceName: 'inside', namespaceId: 'staging' });
    assert.equal((await n.node('DELETE', '/nacos/v1/console/namespaces', { namespaceId: 'staging' })).text, 'true');
    assert.equal((await n.node('DELETE', '/nacos/v1/console/namespaces', { namespaceId: 'staging' })).text, 'false');
    assert.equal((await n.node('DELETE', '/nacos/v1/console/namespaces', { namespaceId: 'public' })).text, 'false');
  });

  it('logs in with any credentials while auth is off, answering a well-formed token', async () => {
    for (const path of ['/nacos/v1/auth/login', '/nacos/v1/auth/users/login']) {
      // The Java client sends username in the query string and password in the form body.
      const res = await n.java('POST', path, { username: 'nacos' }, { password: 'whatever' });
      assert.equal(res.status, 200, res.text);
      const body = res.json<{ accessToken: string; tokenTtl: number; globalAdmin: boolean; username: string }>();
      assert.deepEqual(Object.keys(body), ['accessToken', 'tokenTtl', 'globalAdmin', 'username']);
      assert.equal(body.tokenTtl, 18_000);
      assert.equal(body.globalAdmin, true);
      assert.equal(body.username, 'nacos');
      const [head, payload, sig] = body.accessToken.split('.');
      assert.ok(head && payload && sig, 'JWT-shaped');
      assert.equal(JSON.parse(Buffer.from(payload, 'base64url').toString()).sub, 'nacos');
      assert.equal(res.headers.get('authorization'), `Bearer ${body.accessToken}`);
    }
    const noPassword = await n.node('POST', '/nacos/v1/auth/login', { username: 'nacos' });
    assert.equal(noPassword.status, 400);
    assert.equal(noPassword.text, "Param 'password' is required.");
  });

  it('reports operator metrics with status UP', async () => {
    await n.node('POST', '/nacos/v1/ns/instance', { serviceName: 'metered', ip: '10.2.1.1', port: 1 });
    const res = await n.node('GET', '/nacos/v1/ns/operator/metrics');
    assert.equal(res.status, 200);
    const m = res.json<Record<string, number | string>>();
    assert.equal(m.status, 'UP');
    assert.ok(Number(m.serviceCount) >= 1);
    assert.ok(Number(m.instanceCount) >= 1);
    assert.equal(m.subscribeCount, 0);
    for (const k of [
      'clientCount',
      'ephemeralIpPortClientCount',
      'persistentIpPortClientCount',
      'cpu',
      'load',
      'mem',
    ]) {
      assert.equal(typeof m[k], 'number', k);
    }
  });
});

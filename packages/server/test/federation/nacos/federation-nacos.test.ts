import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { FederationPlugin } from '../../../src/federation/federation-plugin.js';
import { createFederationNacosApi, federationNacosApi } from '../../../src/federation/nacos/federation-nacos-plugin.js';
import { StaticView } from '../../helpers/static-view.js';
import { type FederationTestApp, startFederationTestApp } from '../watch/federation-test-app.js';

// biome-ignore lint/suspicious/noExplicitAny: answers are read field by field
type Json = any;

/** A route outside the Nacos scope, to show its parsers and error handler stay inside it. */
const echoPlugin: FederationPlugin = async (app) => {
  app.post('/echo', async (req) => ({ got: req.body }));
};

function seededView(): StaticView {
  const view = new StaticView({ zones: ['az1', 'az2', 'az3'] });
  view.batch(() => {
    view.putService({ service: 'orders', metadata: { owner: 'team-a' } });
    view.putInstance({ zone: 'az1', service: 'orders', ip: '10.0.0.1', port: 8080, metadata: { v: '1' } });
    view.putInstance({ zone: 'az1', service: 'orders', ip: '10.0.0.2', port: 8080, weight: 250 });
    view.putInstance({ zone: 'az2', service: 'orders', ip: '10.1.0.1', port: 8080, healthy: false });
    view.putInstance({ zone: 'az2', service: 'orders', ip: '10.1.0.2', port: 8080, enabled: false });
    view.putInstance({ zone: 'az2', service: 'orders', ip: '10.1.0.3', port: 8080, cluster: 'blue' });
    view.putInstance({ zone: 'az1', service: 'orders', group: 'g1', ip: '10.0.9.1', port: 1 });
    view.putInstance({ zone: 'az3', service: 'orders', ip: '10.2.0.1', port: 8080 });
    view.putInstance({ zone: 'az1', service: 'pay', ip: '10.0.0.5', port: 9090, ephemeral: false });
    view.putNamespace({ id: 'dev', name: 'Development', description: 'dev things' });
    view.putInstance({ zone: 'az2', service: 'orders', namespace: 'dev', ip: '10.1.5.1', port: 80 });
  });
  return view;
}

describe('federation Nacos reads', () => {
  let view: StaticView;
  let fed: FederationTestApp;

  before(async () => {
    view = seededView();
    fed = await startFederationTestApp(view, [federationNacosApi, echoPlugin]);
  });
  after(async () => fed.close());

  const get = async (path: string): Promise<{ status: number; text: string; json: Json; type: string }> => {
    const res = await fetch(`${fed.url}${path}`);
    const text = await res.text();
    let json: Json = null;
    try {
      json = JSON.parse(text);
    } catch {}
    return { status: res.status, text, json, type: res.headers.get('content-type') ?? '' };
  };

  test('instance/list: hosts of every serving zone, Nacos shape, effective weights, zone in metadata', async () => {
    const r = await get('/nacos/v1/ns/instance/list?serviceName=orders&clusters=');
    assert.equal(r.status, 200);
    assert.match(r.type, /application\/json/);
    const body = r.json;
    assert.deepEqual(Object.keys(body), [
      'name',
      'groupName',
      'clusters',
      'cacheMillis',
      'hosts',
      'lastRefTime',
      'checksum',
      'allIPs',
      'reachProtectionThreshold',
      'valid',
    ]);
    assert.equal(body.name, 'DEFAULT_GROUP@@orders');
    assert.equal(body.groupName, 'DEFAULT_GROUP');
    assert.equal(body.clusters, '');
    assert.equal(body.cacheMillis, 1000);
    assert.equal(body.reachProtectionThreshold, false);
    // Disabled left out; ordered by zone (configuration order), then id.
    assert.deepEqual(
      body.hosts.map((h: Json) => [h.metadata['cairn.zone'], h.ip, h.weight, h.healthy]),
      [
        ['az1', '10.0.0.1', 1, true],
        ['az1', '10.0.0.2', 2.5, true],
        ['az2', '10.1.0.1', 0, false],
        ['az2', '10.1.0.3', 1, true],
        ['az3', '10.2.0.1', 1, true],
      ],
    );
    const h = body.hosts[0];
    assert.deepEqual(h, {
      instanceId: '10.0.0.1#8080#DEFAULT#DEFAULT_GROUP@@orders',
      ip: '10.0.0.1',
      port: 8080,
      weight: 1,
      healthy: true,
      enabled: true,
      ephemeral: true,
      clusterName: 'DEFAULT',
      serviceName: 'DEFAULT_GROUP@@orders',
      metadata: { v: '1', 'cairn.zone': 'az1', 'cairn.stale': 'false' },
      instanceHeartBeatInterval: 1000,
      instanceHeartBeatTimeOut: 3000,
      ipDeleteTimeout: 30000,
      instanceIdGenerator: 'simple',
    });
    // Doubles as Java writes them, and the checksum over the hosts as sent.
    assert.match(r.text, /"weight":1\.0,/);
    assert.match(r.text, /"weight":2\.5,/);
    assert.match(r.text, /"weight":0\.0,/);
    const hostsJson = r.text.slice(r.text.indexOf('"hosts":') + 8, r.text.indexOf(',"lastRefTime"'));
    assert.equal(body.checksum, createHash('md5').update(hostsJson).digest('hex'));
  });

  test('instance/list: group@@service, groupName, clusters, namespaces, unknown services', async () => {
    const grouped = (await get('/nacos/v1/ns/instance/list?serviceName=g1%40%40orders')).json;
    assert.equal(grouped.name, 'g1@@orders');
    assert.deepEqual(
      grouped.hosts.map((h: Json) => h.ip),
      ['10.0.9.1'],
    );
    const byParam = (await get('/nacos/v1/ns/instance/list?serviceName=orders&groupName=g1')).json;
    assert.deepEqual(byParam.hosts, grouped.hosts);
    // A grouped name wins over groupName, as in Nacos.
    const both = (await get('/nacos/v1/ns/instance/list?serviceName=g1%40%40orders&groupName=other')).json;
    assert.equal(both.groupName, 'g1');

    const blue = (await get('/nacos/v1/ns/instance/list?serviceName=orders&clusters=blue,green')).json;
    assert.equal(blue.clusters, 'blue,green', 'clusters echoed exactly');
    assert.deepEqual(
      blue.hosts.map((h: Json) => h.ip),
      ['10.1.0.3'],
    );

    const dev = (await get('/nacos/v1/ns/instance/list?serviceName=orders&namespaceId=dev')).json;
    assert.deepEqual(
      dev.hosts.map((h: Json) => h.ip),
      ['10.1.5.1'],
    );
    const none = await get('/nacos/v1/ns/instance/list?serviceName=nothing');
    assert.equal(none.status, 200);
    assert.deepEqual(none.json.hosts, []);

    const missing = await get('/nacos/v1/ns/instance/list');
    assert.equal(missing.status, 400);
    assert.equal(missing.text, "Param 'serviceName' is required.");
    assert.match(missing.type, /text\/plain/);
    const bad = await get('/nacos/v1/ns/instance/list?serviceName=%40%40orders');
    assert.equal(bad.status, 400);
    assert.match(bad.text, /groupName can't be empty/);
  });

  test('instance/list: healthyOnly leaves out hosts that take no traffic; zone weights scale weights', async () => {
    const healthy = (await get('/nacos/v1/ns/instance/list?serviceName=orders&healthyOnly=true')).json;
    assert.deepEqual(
      healthy.hosts.map((h: Json) => h.ip),
      ['10.0.0.1', '10.0.0.2', '10.1.0.3', '10.2.0.1'],
    );
    view.setZoneWeight('az1', 40);
    view.setZoneWeight('az3', 0);
    try {
      const all = (await get('/nacos/v1/ns/instance/list?serviceName=orders')).json;
      assert.deepEqual(
        all.hosts.map((h: Json) => [h.ip, h.weight]),
        [
          ['10.0.0.1', 0.4],
          ['10.0.0.2', 1],
          ['10.1.0.1', 0],
          ['10.1.0.3', 1],
          ['10.2.0.1', 0],
        ],
      );
      const served = (await get('/nacos/v1/ns/instance/list?serviceName=orders&healthyOnly=true')).json;
      assert.deepEqual(
        served.hosts.map((h: Json) => h.ip),
        ['10.0.0.1', '10.0.0.2', '10.1.0.3'],
        'a drained zone takes no traffic',
      );
      // A zone that stops serving (drop policy) leaves the answer; a stale one kept is marked.
      view.setZoneState('az2', 'stale', true);
      const stale = (await get('/nacos/v1/ns/instance/list?serviceName=orders')).json;
      assert.equal(stale.hosts.find((h: Json) => h.ip === '10.1.0.3').metadata['cairn.stale'], 'true');
      view.setZoneState('az2', 'stale', false);
      const dropped = (await get('/nacos/v1/ns/instance/list?serviceName=orders')).json;
      assert.ok(dropped.hosts.every((h: Json) => h.metadata['cairn.zone'] !== 'az2'));
    } finally {
      view.setZoneState('az2', 'live');
      view.setZoneWeight('az1', 100);
      view.setZoneWeight('az3', 100);
    }
  });

  test('instance/list: the protect threshold returns every host marked healthy', async () => {
    const v = new StaticView({ zones: ['az1', 'az2'] });
    v.putService({ service: 'fragile', protectThreshold: 0.5 });
    v.putInstance({ zone: 'az1', service: 'fragile', ip: '10.0.0.1', port: 1, healthy: false, weight: 300 });
    v.putInstance({ zone: 'az2', service: 'fragile', ip: '10.1.0.1', port: 1, healthy: false });
    v.putInstance({ zone: 'az2', service: 'fragile', ip: '10.1.0.2', port: 1 });
    v.setZoneWeight('az2', 50);
    const app = await startFederationTestApp(v, [federationNacosApi]);
    try {
      const res = await fetch(`${app.url}/nacos/v1/ns/instance/list?serviceName=fragile&healthyOnly=true`);
      const body = (await res.json()) as Json;
      assert.equal(body.reachProtectionThreshold, true);
      assert.deepEqual(
        body.hosts.map((h: Json) => [h.ip, h.healthy, h.weight]),
        [
          ['10.0.0.1', true, 3],
          ['10.1.0.1', true, 0.5],
          ['10.1.0.2', true, 0.5],
        ],
      );
    } finally {
      await app.close();
    }
  });

  test('instance detail: one host, effective weight, zone in metadata; 404s as Nacos', async () => {
    const r = await get('/nacos/v1/ns/instance?serviceName=orders&ip=10.0.0.2&port=8080');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, {
      service: 'DEFAULT_GROUP@@orders',
      ip: '10.0.0.2',
      port: 8080,
      clusterName: 'DEFAULT',
      weight: 2.5,
      healthy: true,
      instanceId: '10.0.0.2#8080#DEFAULT#DEFAULT_GROUP@@orders',
      metadata: { 'cairn.zone': 'az1', 'cairn.stale': 'false' },
    });
    const blue = await get(
      '/nacos/v1/ns/instance?serviceName=DEFAULT_GROUP%40%40orders&ip=10.1.0.3&port=8080&clusterName=blue',
    );
    assert.equal(blue.json.metadata['cairn.zone'], 'az2');
    const noIp = await get('/nacos/v1/ns/instance?serviceName=orders&ip=10.9.9.9&port=8080');
    assert.deepEqual([noIp.status, noIp.text], [404, 'no matched ip found!']);
    const noSvc = await get('/nacos/v1/ns/instance?serviceName=nothing&ip=10.9.9.9&port=8080');
    assert.deepEqual([noSvc.status, noSvc.text], [404, 'no service DEFAULT_GROUP@@nothing found!']);
    const noCluster = await get('/nacos/v1/ns/instance?serviceName=orders&ip=10.0.0.1&port=8080&clusterName=red');
    assert.equal(noCluster.status, 404);
    const badPort = await get('/nacos/v1/ns/instance?serviceName=orders&ip=10.0.0.1&port=x');
    assert.deepEqual([badPort.status, badPort.text], [400, 'For input string: "x"']);
  });

  test('service detail and service list', async () => {
    const r = await get('/nacos/v1/ns/service?serviceName=orders');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, {
      namespaceId: 'public',
      groupName: 'DEFAULT_GROUP',
      name: 'orders',
      protectThreshold: 0,
      metadata: { owner: 'team-a' },
      selector: { type: 'none' },
      clusters: [
        { name: 'DEFAULT', healthChecker: { type: 'TCP' }, metadata: {} },
        { name: 'blue', healthChecker: { type: 'TCP' }, metadata: {} },
      ],
    });
    assert.match(r.text, /"protectThreshold":0\.0,/);
    const pay = await get('/nacos/v1/ns/service?serviceName=DEFAULT_GROUP%40%40pay');
    assert.deepEqual(pay.json.metadata, {}, 'a service known only by its instances gets the defaults');
    const none = await get('/nacos/v1/ns/service?serviceName=nothing');
    assert.equal(none.status, 400);
    assert.equal(none.text, 'service not found, namespace: public, serviceName: DEFAULT_GROUP@@nothing');

    assert.deepEqual((await get('/nacos/v1/ns/service/list?pageNo=1&pageSize=10')).json, {
      count: 2,
      doms: ['orders', 'pay'],
    });
    assert.deepEqual((await get('/nacos/v1/ns/service/list?pageNo=2&pageSize=1')).json, { count: 2, doms: ['pay'] });
    assert.deepEqual((await get('/nacos/v1/ns/service/list?pageNo=3&pageSize=1')).json, { count: 2, doms: [] });
    assert.deepEqual((await get('/nacos/v1/ns/service/list?pageNo=1&pageSize=10&groupName=g1')).json, {
      count: 1,
      doms: ['orders'],
    });
    assert.deepEqual((await get('/nacos/v1/ns/service/list?pageNo=1&pageSize=10&namespaceId=dev')).json, {
      count: 1,
      doms: ['orders'],
    });
    const noPage = await get('/nacos/v1/ns/service/list?pageSize=10');
    assert.deepEqual([noPage.status, noPage.text], [400, "Param 'pageNo' is required."]);
  });

  test('catalog/services (withInstances=false): one page with counts', async () => {
    const r = await get('/nacos/v1/ns/catalog/services?withInstances=false&pageNo=1&pageSize=10');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, {
      count: 3,
      serviceList: [
        {
          name: 'orders',
          groupName: 'DEFAULT_GROUP',
          clusterCount: 2,
          ipCount: 6,
          healthyInstanceCount: 5,
          triggerFlag: 'false',
        },
        {
          name: 'pay',
          groupName: 'DEFAULT_GROUP',
          clusterCount: 1,
          ipCount: 1,
          healthyInstanceCount: 1,
          triggerFlag: 'false',
        },
        { name: 'orders', groupName: 'g1', clusterCount: 1, ipCount: 1, healthyInstanceCount: 1, triggerFlag: 'false' },
      ],
    });
    const filtered = await get(
      '/nacos/v1/ns/catalog/services?withInstances=false&pageNo=1&pageSize=10&groupNameParam=DEFAULT_GROUP&serviceNameParam=pa',
    );
    assert.deepEqual(
      filtered.json.serviceList.map((s: Json) => s.name),
      ['pay'],
    );
    const withInstances = await get('/nacos/v1/ns/catalog/services?pageNo=1&pageSize=10');
    assert.equal(withInstances.status, 400);
    assert.match(withInstances.text, /withInstances=false/);
  });

  test('namespaces, operator metrics and login', async () => {
    const ns = await get('/nacos/v1/console/namespaces');
    assert.deepEqual(ns.json, {
      code: 200,
      message: null,
      data: [
        { namespace: '', namespaceShowName: 'public', namespaceDesc: '', quota: 200, configCount: 0, type: 0 },
        {
          namespace: 'dev',
          namespaceShowName: 'Development',
          namespaceDesc: 'dev things',
          quota: 200,
          configCount: 0,
          type: 2,
        },
      ],
    });
    assert.equal(
      (await get('/nacos/v1/console/namespaces?checkNamespaceIdExist=true&customNamespaceId=dev')).json,
      true,
    );
    assert.equal(
      (await get('/nacos/v1/console/namespaces?checkNamespaceIdExist=true&customNamespaceId=qa')).json,
      false,
    );
    assert.equal(
      (await get('/nacos/v1/console/namespaces?show=all&namespaceId=dev')).json.namespaceShowName,
      'Development',
    );

    const m = await get('/nacos/v1/ns/operator/metrics');
    assert.equal(m.json.status, 'UP');
    assert.equal(m.json.instanceCount, 9);
    assert.equal(m.json.persistentIpPortClientCount, 1);
    view.ready = false;
    try {
      assert.equal((await get('/nacos/v1/ns/operator/metrics')).json.status, 'DOWN');
    } finally {
      view.ready = true;
    }

    const login = await fetch(`${fed.url}/nacos/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=nacos&password=whatever',
    });
    assert.equal(login.status, 200);
    const token = (await login.json()) as Json;
    assert.equal(token.username, 'nacos');
    assert.equal(typeof token.accessToken, 'string');
    assert.equal(login.headers.get('authorization'), `Bearer ${token.accessToken}`);
    const noPassword = await fetch(`${fed.url}/nacos/v1/auth/users/login?username=nacos`, { method: 'POST' });
    assert.deepEqual([noPassword.status, await noPassword.text()], [400, "Param 'password' is required."]);
  });

  test('writes are refused: the federation is read-only, registration goes to a zone registry', async () => {
    const writes: [string, string, RequestInit?][] = [
      ['POST', '/nacos/v1/ns/instance?serviceName=orders&ip=10.0.0.9&port=1'],
      [
        'POST',
        '/nacos/v1/ns/instance',
        {
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'serviceName=orders&ip=10.0.0.9&port=1',
        },
      ],
      ['PUT', '/nacos/v1/ns/instance?serviceName=orders&ip=10.0.0.1&port=8080&weight=2'],
      ['PATCH', '/nacos/v1/ns/instance?serviceName=orders&ip=10.0.0.1&port=8080'],
      ['DELETE', '/nacos/v1/ns/instance?serviceName=orders&ip=10.0.0.1&port=8080'],
      ['PUT', '/nacos/v1/ns/instance/beat?serviceName=orders&beat=%7B%7D'],
      ['POST', '/nacos/v1/ns/service?serviceName=new'],
      ['PUT', '/nacos/v1/ns/service?serviceName=orders&protectThreshold=0.5'],
      ['DELETE', '/nacos/v1/ns/service?serviceName=orders'],
      ['POST', '/nacos/v1/console/namespaces?namespaceName=x'],
      ['PUT', '/nacos/v1/console/namespaces?namespace=dev&namespaceShowName=x'],
      ['DELETE', '/nacos/v1/console/namespaces?namespaceId=dev'],
      ['POST', '/nacos/v1/ns/instance', { headers: { 'content-type': 'application/json' }, body: '{"not":"nacos"' }],
    ];
    for (const [method, path, init] of writes) {
      const res = await fetch(`${fed.url}${path}`, { method, ...init });
      const text = await res.text();
      assert.equal(res.status, 405, `${method} ${path}`);
      assert.equal(res.headers.get('allow'), 'GET');
      assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
      assert.match(text, /read-only/);
      assert.match(text, /zone registry/);
    }
    // Nothing changed.
    assert.equal((await get('/nacos/v1/ns/instance/list?serviceName=orders')).json.hosts.length, 5);
  });

  test('the Nacos scope keeps its parsers and errors to itself', async () => {
    const res = await fetch(`${fed.url}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { got: { a: 1 } });
    const bad = await fetch(`${fed.url}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":',
    });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as Json).code, 'VALIDATION_FAILED', 'the JSON error handler outside');
  });

  test('cacheMillis is configurable', async () => {
    const app = await startFederationTestApp(view, [createFederationNacosApi({ cacheMillis: 5000 })]);
    try {
      const res = await fetch(`${app.url}/nacos/v1/ns/instance/list?serviceName=orders`);
      assert.equal(((await res.json()) as Json).cacheMillis, 5000);
    } finally {
      await app.close();
    }
  });
});

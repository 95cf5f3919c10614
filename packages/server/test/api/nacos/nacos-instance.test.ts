import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type InstanceList, type NacosServer, startNacosServer, until } from './nacos-harness.js';

// Every request here is what the Node client (`nacos` 2.6.3) sends: all parameters in the query
// string, no body, Nacos-Java-Client headers; or what a Java 1.x client sends (form body).
describe('Nacos v1 instance API', () => {
  let n: NacosServer;
  before(async () => {
    n = await startNacosServer();
  });
  after(() => n.stop());

  const register = (params: Record<string, string>) =>
    n.node('POST', '/nacos/v1/ns/instance', {
      namespaceId: 'public',
      groupName: 'DEFAULT_GROUP',
      clusterName: 'DEFAULT',
      weight: '1',
      enable: 'true',
      healthy: 'true',
      ephemeral: 'true',
      metadata: '{}',
      ...params,
    });
  const list = async (params: Record<string, string>) => {
    const res = await n.node('GET', '/nacos/v1/ns/instance/list', {
      namespaceId: 'public',
      clusters: '',
      udpPort: '0',
      clientIP: '127.0.0.1',
      healthyOnly: 'false',
      ...params,
    });
    assert.equal(res.status, 200, res.text);
    return res.json<InstanceList>();
  };

  it('registers as the Node client does and answers `ok` as text', async () => {
    const res = await register({
      serviceName: 'DEFAULT_GROUP@@orders',
      ip: '10.0.0.1',
      port: '8080',
      metadata: JSON.stringify({ version: 'v1' }),
    });
    assert.equal(res.status, 200);
    assert.equal(res.text, 'ok');
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    const inst = n.server.registry.state.instance({
      namespace: 'public',
      group: 'DEFAULT_GROUP',
      service: 'orders',
      cluster: 'DEFAULT',
      ip: '10.0.0.1',
      port: 8080,
    });
    assert.ok(inst);
    assert.equal(inst.weight, 100, 'Nacos weight 1.0 is cairn weight 100');
    assert.equal(inst.zone, 'az1', 'the zone comes from the server config');
    assert.deepEqual(inst.heartbeat, { intervalMs: 5000, unhealthyAfterMs: 15_000, expireAfterMs: 30_000 });
    assert.deepEqual(inst.lease, { kind: 'instance' });
    assert.deepEqual(inst.metadata, { version: 'v1' });
  });

  it('lists with name as group@@service, clusters echoed, doubles as Nacos writes them', async () => {
    const res = await n.node('GET', '/nacos/v1/ns/instance/list', {
      namespaceId: 'public',
      serviceName: 'DEFAULT_GROUP@@orders',
      clusters: 'DEFAULT',
      udpPort: '0',
      clientIP: '127.0.0.1',
      healthyOnly: 'false',
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.match(res.text, /"weight":1\.0,/, 'weights are doubles on the wire');
    const body = res.json<InstanceList>();
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
    assert.equal(body.clusters, 'DEFAULT');
    assert.equal(body.cacheMillis, 10_000);
    assert.equal(body.reachProtectionThreshold, false);
    assert.equal(body.valid, true);
    assert.equal(body.allIPs, false);
    assert.match(body.checksum, /^[0-9a-f]{32}$/);
    assert.ok(Math.abs(body.lastRefTime - Date.now()) < 60_000);
    assert.deepEqual(body.hosts, [
      {
        instanceId: '10.0.0.1#8080#DEFAULT#DEFAULT_GROUP@@orders',
        ip: '10.0.0.1',
        port: 8080,
        weight: 1,
        healthy: true,
        enabled: true,
        ephemeral: true,
        clusterName: 'DEFAULT',
        serviceName: 'DEFAULT_GROUP@@orders',
        metadata: { version: 'v1' },
        instanceHeartBeatInterval: 5000,
        instanceHeartBeatTimeOut: 15_000,
        ipDeleteTimeout: 30_000,
        instanceIdGenerator: 'simple',
      },
    ]);
    // The same list through a plain service name and groupName; clusters "" echoed as "".
    const plain = await list({ serviceName: 'orders', groupName: 'DEFAULT_GROUP' });
    assert.equal(plain.name, 'DEFAULT_GROUP@@orders');
    assert.equal(plain.clusters, '');
    assert.equal(plain.hosts.length, 1);
    assert.equal(plain.checksum, body.checksum, 'same hosts, same checksum');
  });

  it('answers an empty list for a service it does not know, echoing what was asked', async () => {
    const body = await list({ serviceName: 'G1@@nothing-here', clusters: 'a,b' });
    assert.equal(body.name, 'G1@@nothing-here');
    assert.equal(body.groupName, 'G1');
    assert.equal(body.clusters, 'a,b');
    assert.deepEqual(body.hosts, []);
    assert.equal(body.reachProtectionThreshold, false);
  });

  it('filters by clusters, leaves disabled instances out, reads `enabled` before `enable`', async () => {
    const svc = 'DEFAULT_GROUP@@catalog';
    assert.equal((await register({ serviceName: svc, ip: '10.0.1.1', port: '80', clusterName: 'A' })).text, 'ok');
    assert.equal((await register({ serviceName: svc, ip: '10.0.1.2', port: '80', clusterName: 'B' })).text, 'ok');
    assert.equal(
      (await register({ serviceName: svc, ip: '10.0.1.3', port: '80', clusterName: 'A', enable: 'false' })).text,
      'ok',
    );
    // `enabled` wins over `enable`.
    assert.equal(
      (
        await register({
          serviceName: svc,
          ip: '10.0.1.4',
          port: '80',
          clusterName: 'A',
          enable: 'true',
          enabled: 'false',
        })
      ).text,
      'ok',
    );
    // Java's `cluster` alias.
    const alias = await n.node('POST', '/nacos/v1/ns/instance', {
      serviceName: svc,
      ip: '10.0.1.5',
      port: '80',
      cluster: 'C',
    });
    assert.equal(alias.text, 'ok');
    const a = await list({ serviceName: svc, clusters: 'A' });
    assert.deepEqual(
      a.hosts.map((h) => h.ip),
      ['10.0.1.1'],
    );
    assert.equal(a.clusters, 'A');
    const ab = await list({ serviceName: svc, clusters: 'A,B' });
    assert.deepEqual(ab.hosts.map((h) => h.ip).sort(), ['10.0.1.1', '10.0.1.2']);
    assert.equal(ab.clusters, 'A,B');
    const all = await list({ serviceName: svc });
    assert.deepEqual(all.hosts.map((h) => h.ip).sort(), ['10.0.1.1', '10.0.1.2', '10.0.1.5']);
    const detail = await n.node('GET', '/nacos/v1/ns/instance', {
      serviceName: svc,
      ip: '10.0.1.4',
      port: '80',
      clusterName: 'A',
    });
    assert.equal(detail.status, 200, 'a disabled instance still has its detail');
  });

  it('gets one instance in detail, and 404s as Nacos does', async () => {
    const res = await n.node('GET', '/nacos/v1/ns/instance', {
      namespaceId: 'public',
      serviceName: 'DEFAULT_GROUP@@orders',
      ip: '10.0.0.1',
      port: '8080',
    });
    assert.equal(res.status, 200);
    assert.equal(
      res.text,
      '{"service":"DEFAULT_GROUP@@orders","ip":"10.0.0.1","port":8080,"clusterName":"DEFAULT","weight":1.0,' +
        '"healthy":true,"instanceId":"10.0.0.1#8080#DEFAULT#DEFAULT_GROUP@@orders","metadata":{"version":"v1"}}',
    );
    const missing = await n.node('GET', '/nacos/v1/ns/instance', {
      serviceName: 'orders',
      ip: '10.0.0.9',
      port: '8080',
    });
    assert.equal(missing.status, 404);
    assert.equal(missing.text, 'no matched ip found!');
    const noService = await n.node('GET', '/nacos/v1/ns/instance', { serviceName: 'nope', ip: '10.0.0.1', port: '1' });
    assert.equal(noService.status, 404);
    assert.equal(noService.text, 'no service DEFAULT_GROUP@@nope found!');
    const noCluster = await n.node('GET', '/nacos/v1/ns/instance', {
      serviceName: 'orders',
      ip: '10.0.0.1',
      port: '8080',
      clusterName: 'OTHER',
    });
    assert.equal(noCluster.status, 404);
    assert.equal(noCluster.text, 'no ips found for cluster OTHER in service DEFAULT_GROUP@@orders');
  });

  it('takes metadata as JSON or as k=v,k2=v2, and refuses what is neither', async () => {
    const svc = 'DEFAULT_GROUP@@meta';
    assert.equal((await register({ serviceName: svc, ip: '10.0.2.1', port: '1', metadata: 'a=1,b=two' })).text, 'ok');
    assert.equal(
      (await register({ serviceName: svc, ip: '10.0.2.2', port: '1', metadata: '{"a":"1","n":2,"t":true}' })).text,
      'ok',
    );
    const hosts = (await list({ serviceName: svc })).hosts;
    assert.deepEqual(hosts.find((h) => h.ip === '10.0.2.1')?.metadata, { a: '1', b: 'two' });
    assert.deepEqual(hosts.find((h) => h.ip === '10.0.2.2')?.metadata, { a: '1', n: '2', t: 'true' });
    const bad = await register({ serviceName: svc, ip: '10.0.2.3', port: '1', metadata: 'a=1,b' });
    assert.equal(bad.status, 400);
    assert.equal(bad.text, 'metadata format incorrect:a=1,b');
  });

  it('maps weights both ways: Nacos w is cairn round(w * 100)', async () => {
    const svc = 'DEFAULT_GROUP@@weights';
    assert.equal((await register({ serviceName: svc, ip: '10.0.3.1', port: '1', weight: '0.5' })).text, 'ok');
    assert.equal((await register({ serviceName: svc, ip: '10.0.3.2', port: '1', weight: '2.25' })).text, 'ok');
    assert.equal((await register({ serviceName: svc, ip: '10.0.3.3', port: '1', weight: '0' })).text, 'ok');
    const key = { namespace: 'public', group: 'DEFAULT_GROUP', service: 'weights', cluster: 'DEFAULT', port: 1 };
    assert.equal(n.server.registry.state.instance({ ...key, ip: '10.0.3.1' })?.weight, 50);
    assert.equal(n.server.registry.state.instance({ ...key, ip: '10.0.3.2' })?.weight, 225);
    assert.equal(n.server.registry.state.instance({ ...key, ip: '10.0.3.3' })?.weight, 0);
    const res = await n.node('GET', '/nacos/v1/ns/instance/list', { serviceName: svc });
    assert.match(res.text, /"ip":"10\.0\.3\.1","port":1,"weight":0\.5,/);
    assert.match(res.text, /"ip":"10\.0\.3\.2","port":1,"weight":2\.25,/);
    assert.match(res.text, /"ip":"10\.0\.3\.3","port":1,"weight":0\.0,/);
    const negative = await register({ serviceName: svc, ip: '10.0.3.4', port: '1', weight: '-1' });
    assert.equal(negative.status, 400);
    assert.equal(negative.text, 'instance format invalid: The weights range from 0.0 to 10000.0');
    const huge = await register({ serviceName: svc, ip: '10.0.3.4', port: '1', weight: '10001' });
    assert.equal(huge.status, 400);
    assert.equal(huge.text, 'instance format invalid: The weights range from 0.0 to 10000.0');
    const tooBigForCairn = await register({ serviceName: svc, ip: '10.0.3.4', port: '1', weight: '500' });
    assert.equal(tooBigForCairn.status, 400);
    assert.match(tooBigForCairn.text, /weight 500 is above 100\.0/);
    const notANumber = await register({ serviceName: svc, ip: '10.0.3.4', port: '1', weight: 'heavy' });
    assert.equal(notANumber.status, 400);
    assert.equal(notANumber.text, 'For input string: "heavy"');
  });

  it('refuses missing parameters and malformed names with Nacos texts', async () => {
    const cases: [Record<string, string>, string][] = [
      [{ ip: '10.0.0.1', port: '1' }, "Param 'serviceName' is required."],
      [{ serviceName: 'svc', port: '1' }, "Param 'ip' is required."],
      [{ serviceName: 'svc', ip: '10.0.0.1' }, "Param 'port' is required."],
      [{ serviceName: '@@svc', ip: '10.0.0.1', port: '1' }, "Param 'serviceName' is illegal, groupName can't be empty"],
      [
        { serviceName: 'grp@@', ip: '10.0.0.1', port: '1' },
        "Param 'serviceName' is illegal, it should be format as 'groupName@@serviceName'",
      ],
      [
        { serviceName: 'svc', ip: '10.0.0.1', port: '1', clusterName: 'bad_cluster' },
        "Instance 'clusterName' should be characters with only 0-9a-zA-Z-. (current: bad_cluster)",
      ],
      [{ serviceName: 'svc', ip: '10.0.0.1', port: 'http' }, 'For input string: "http"'],
    ];
    for (const [params, text] of cases) {
      const res = await n.node('POST', '/nacos/v1/ns/instance', params);
      assert.equal(res.status, 400, JSON.stringify(params));
      assert.equal(res.text, text, JSON.stringify(params));
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    }
    const list = await n.node('GET', '/nacos/v1/ns/instance/list', {});
    assert.equal(list.status, 400);
    assert.equal(list.text, "Param 'serviceName' is required.");
  });

  it('honours preserved heartbeat metadata and refuses a timeout shorter than the interval', async () => {
    const svc = 'DEFAULT_GROUP@@beats';
    const ok = await register({
      serviceName: svc,
      ip: '10.0.4.1',
      port: '1',
      metadata: JSON.stringify({
        'preserved.heart.beat.interval': '1000',
        'preserved.heart.beat.timeout': '3000',
        'preserved.ip.delete.timeout': '9000',
      }),
    });
    assert.equal(ok.text, 'ok');
    const host = (await list({ serviceName: svc })).hosts[0];
    assert.equal(host?.instanceHeartBeatInterval, 1000);
    assert.equal(host?.instanceHeartBeatTimeOut, 3000);
    assert.equal(host?.ipDeleteTimeout, 9000);
    const shortTimeout = await register({
      serviceName: svc,
      ip: '10.0.4.2',
      port: '1',
      metadata: 'preserved.heart.beat.interval=5000,preserved.heart.beat.timeout=1000',
    });
    assert.equal(shortTimeout.status, 400);
    assert.equal(
      shortTimeout.text,
      "Instance 'heart beat interval' must less than 'heart beat timeout' and 'ip delete timeout'.",
    );
    const shortDelete = await register({
      serviceName: svc,
      ip: '10.0.4.2',
      port: '1',
      metadata: 'preserved.heart.beat.interval=40000',
    });
    assert.equal(shortDelete.status, 400, 'the default delete timeout (30 s) is shorter than 40 s');
  });

  it('modifies with PUT (Nacos defaults for what is omitted) and PATCH (only what is named)', async () => {
    const svc = 'DEFAULT_GROUP@@modify';
    await register({ serviceName: svc, ip: '10.0.5.1', port: '1', weight: '3', metadata: 'a=1' });
    const put = await n.node('PUT', '/nacos/v1/ns/instance', {
      serviceName: svc,
      ip: '10.0.5.1',
      port: '1',
      weight: '2',
      enabled: 'false',
      metadata: '{"b":"2"}',
    });
    assert.equal(put.status, 200);
    assert.equal(put.text, 'ok');
    const key = {
      namespace: 'public',
      group: 'DEFAULT_GROUP',
      service: 'modify',
      cluster: 'DEFAULT',
      ip: '10.0.5.1',
      port: 1,
    };
    let inst = n.server.registry.state.instance(key);
    assert.equal(inst?.weight, 200);
    assert.equal(inst?.enabled, false);
    assert.deepEqual(inst?.metadata, { b: '2' });
    const patch = await n.node('PATCH', '/nacos/v1/ns/instance', {
      serviceName: svc,
      ip: '10.0.5.1',
      port: '1',
      enable: 'true',
    });
    assert.equal(patch.text, 'ok');
    inst = n.server.registry.state.instance(key);
    assert.equal(inst?.enabled, true);
    assert.equal(inst?.weight, 200, 'PATCH keeps the weight');
    assert.deepEqual(inst?.metadata, { b: '2' });
    // PUT with nothing but the key puts Nacos's defaults back.
    await n.node('PUT', '/nacos/v1/ns/instance', { serviceName: svc, ip: '10.0.5.1', port: '1' });
    inst = n.server.registry.state.instance(key);
    assert.equal(inst?.weight, 100);
    assert.deepEqual(inst?.metadata, {});
    // New heartbeat settings through metadata take effect.
    await n.node('PUT', '/nacos/v1/ns/instance', {
      serviceName: svc,
      ip: '10.0.5.1',
      port: '1',
      metadata:
        'preserved.heart.beat.interval=2000,preserved.heart.beat.timeout=6000,preserved.ip.delete.timeout=12000',
    });
    inst = n.server.registry.state.instance(key);
    assert.deepEqual(inst?.heartbeat, { intervalMs: 2000, unhealthyAfterMs: 6000, expireAfterMs: 12_000 });
    const noService = await n.node('PUT', '/nacos/v1/ns/instance', { serviceName: 'ghost', ip: '10.0.5.1', port: '1' });
    assert.equal(noService.status, 400);
    assert.equal(noService.text, 'service not found, namespace: public, service: DEFAULT_GROUP@@ghost');
    const noInstance = await n.node('PUT', '/nacos/v1/ns/instance', { serviceName: svc, ip: '10.0.5.9', port: '1' });
    assert.equal(noInstance.status, 400);
    assert.equal(noInstance.text, 'instance not exist: 10.0.5.9#1#DEFAULT#DEFAULT_GROUP@@modify');
  });

  it('deregisters as the Node client does; an unknown instance or service is `ok` too', async () => {
    const svc = 'DEFAULT_GROUP@@leaving';
    await register({ serviceName: svc, ip: '10.0.6.1', port: '1' });
    const del = await n.node('DELETE', '/nacos/v1/ns/instance', {
      namespaceId: 'public',
      serviceName: svc,
      clusterName: 'DEFAULT',
      ip: '10.0.6.1',
      port: '1',
      ephemeral: 'true',
    });
    assert.equal(del.status, 200);
    assert.equal(del.text, 'ok');
    assert.deepEqual((await list({ serviceName: svc })).hosts, []);
    const again = await n.node('DELETE', '/nacos/v1/ns/instance', { serviceName: svc, ip: '10.0.6.1', port: '1' });
    assert.equal(again.text, 'ok');
    const ghost = await n.node('DELETE', '/nacos/v1/ns/instance', { serviceName: 'ghost', ip: '10.0.6.1', port: '1' });
    assert.equal(ghost.text, 'ok');
  });

  it('creates an unknown namespace on first registration, as Nacos needs no namespace to exist', async () => {
    const res = await register({ namespaceId: 'dev', serviceName: 'DEFAULT_GROUP@@orders', ip: '10.0.7.1', port: '1' });
    assert.equal(res.text, 'ok');
    assert.ok(n.server.registry.state.namespaceExists('dev'));
    const dev = await list({ namespaceId: 'dev', serviceName: 'DEFAULT_GROUP@@orders' });
    assert.deepEqual(
      dev.hosts.map((h) => h.ip),
      ['10.0.7.1'],
    );
    const pub = await list({ serviceName: 'DEFAULT_GROUP@@orders' });
    assert.deepEqual(
      pub.hosts.map((h) => h.ip),
      ['10.0.0.1'],
      'namespaces are separate',
    );
  });

  it('applies the protect threshold: all returned healthy once healthy/total <= threshold', async () => {
    const svc = 'DEFAULT_GROUP@@protected';
    // Two instances whose (shortened) heartbeat timeout lapses at once, two with Nacos's defaults.
    const lapsing =
      'preserved.heart.beat.interval=100,preserved.heart.beat.timeout=300,preserved.ip.delete.timeout=600000';
    for (const ip of ['10.0.8.1', '10.0.8.2']) await register({ serviceName: svc, ip, port: '1', metadata: lapsing });
    for (const ip of ['10.0.8.3', '10.0.8.4']) await register({ serviceName: svc, ip, port: '1' });
    const healthyOf = async (ip: string) =>
      (await n.node('GET', '/nacos/v1/ns/instance', { serviceName: svc, ip, port: '1' })).json<{ healthy: boolean }>()
        .healthy;
    await until(
      async () => !(await healthyOf('10.0.8.1')) && !(await healthyOf('10.0.8.2')),
      10_000,
      'two turn unhealthy',
    );
    // Threshold 0 (the default): 2 of 4 healthy, not reached.
    let body = await list({ serviceName: svc, healthyOnly: 'true' });
    assert.equal(body.reachProtectionThreshold, false);
    assert.deepEqual(body.hosts.map((h) => h.ip).sort(), ['10.0.8.3', '10.0.8.4']);
    body = await list({ serviceName: svc });
    assert.deepEqual(
      body.hosts
        .filter((h) => !h.healthy)
        .map((h) => h.ip)
        .sort(),
      ['10.0.8.1', '10.0.8.2'],
    );
    // Threshold 0.5: 2/4 <= 0.5, reached: all four, all marked healthy, even with healthyOnly.
    const update = await n.node('PUT', '/nacos/v1/ns/service', { serviceName: svc, protectThreshold: '0.5' });
    assert.equal(update.text, 'ok');
    body = await list({ serviceName: svc, healthyOnly: 'true' });
    assert.equal(body.reachProtectionThreshold, true);
    assert.equal(body.hosts.length, 4);
    assert.ok(body.hosts.every((h) => h.healthy));
    // Threshold 0.4: 2/4 > 0.4, not reached.
    await n.node('PUT', '/nacos/v1/ns/service', { serviceName: svc, protectThreshold: '0.4' });
    body = await list({ serviceName: svc });
    assert.equal(body.reachProtectionThreshold, false);
    // The detail is not protected: it tells the truth.
    assert.equal(await healthyOf('10.0.8.1'), false);
  });

  it('with the default threshold 0, protection fires exactly when no instance is healthy', async () => {
    const svc = 'DEFAULT_GROUP@@lonely';
    // 2 s leaves ample time to see it healthy (and unprotected) first, even on a loaded machine.
    const lapsing =
      'preserved.heart.beat.interval=100,preserved.heart.beat.timeout=2000,preserved.ip.delete.timeout=600000';
    await register({ serviceName: svc, ip: '10.0.8.9', port: '1', metadata: lapsing });
    let body = await list({ serviceName: svc, healthyOnly: 'true' });
    assert.equal(body.reachProtectionThreshold, false);
    await until(async () => (await list({ serviceName: svc })).reachProtectionThreshold, 10_000, 'protection');
    body = await list({ serviceName: svc, healthyOnly: 'true' });
    assert.equal(body.hosts.length, 1);
    assert.equal(body.hosts[0]?.healthy, true, 'returned as healthy while protected');
  });

  it('accepts parameters in a form body (Java 1.x), the query string winning over the body', async () => {
    const res = await n.java(
      'POST',
      '/nacos/v1/ns/instance',
      { serviceName: 'DEFAULT_GROUP@@java', port: '9090' },
      { ip: '10.0.9.1', port: '1111', weight: '1.5', metadata: 'lang=java' },
    );
    assert.equal(res.status, 200, res.text);
    assert.equal(res.text, 'ok');
    const body = await list({ serviceName: 'DEFAULT_GROUP@@java' });
    assert.equal(body.hosts[0]?.port, 9090);
    assert.equal(body.hosts[0]?.weight, 1.5);
    assert.deepEqual(body.hosts[0]?.metadata, { lang: 'java' });
    // A JSON body is ignored, as a servlet would (no 400 for the body itself).
    const json = await fetch(`${n.url}/nacos/v1/ns/instance?serviceName=jsonbody&ip=10.0.9.2&port=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{not json',
    });
    assert.equal(json.status, 200);
    assert.equal(await json.text(), 'ok');
  });
});

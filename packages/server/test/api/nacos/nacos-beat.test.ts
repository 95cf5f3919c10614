import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sleep } from '../../helpers/zone-cluster.js';
import { type InstanceList, type NacosServer, startNacosServer, until } from './nacos-harness.js';

describe('Nacos v1 beats and heartbeat expiry', () => {
  let n: NacosServer;
  before(async () => {
    n = await startNacosServer();
  });
  after(() => n.stop());

  /** The beat the Node client sends: `beat` JSON, namespaceId and serviceName, all in the query string. */
  const nodeBeat = (serviceName: string, beat: Record<string, unknown>) =>
    n.node('PUT', '/nacos/v1/ns/instance/beat', { beat: JSON.stringify(beat), namespaceId: 'public', serviceName });
  const hostsOf = async (serviceName: string) =>
    (await n.node('GET', '/nacos/v1/ns/instance/list', { serviceName })).json<InstanceList>().hosts;
  const detail = (serviceName: string, ip: string, port: number) =>
    n.node('GET', '/nacos/v1/ns/instance', { serviceName, ip, port });

  it('answers a beat for a live instance with the beat JSON Nacos sends', async () => {
    const svc = 'DEFAULT_GROUP@@beating';
    const reg = await n.node('POST', '/nacos/v1/ns/instance', { serviceName: svc, ip: '10.1.0.1', port: 80 });
    assert.equal(reg.text, 'ok');
    const beat = {
      serviceName: svc,
      ip: '10.1.0.1',
      port: 80,
      cluster: 'DEFAULT',
      weight: 1,
      metadata: {},
      scheduled: true,
    };
    const res = await nodeBeat(svc, beat);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(res.text, '{"clientBeatInterval":5000,"code":10200,"lightBeatEnabled":true}');
    // A light beat (no `beat`; ip, port, clusterName), as the Java client sends once beats are light.
    const light = await n.node('PUT', '/nacos/v1/ns/instance/beat', {
      namespaceId: 'public',
      serviceName: svc,
      clusterName: 'DEFAULT',
      ip: '10.1.0.1',
      port: 80,
    });
    assert.equal(light.text, '{"clientBeatInterval":5000,"code":10200,"lightBeatEnabled":true}');
  });

  it('answers code 20404 to a light beat for an instance it does not hold', async () => {
    const res = await n.node('PUT', '/nacos/v1/ns/instance/beat', {
      namespaceId: 'public',
      serviceName: 'DEFAULT_GROUP@@nobody',
      clusterName: 'DEFAULT',
      ip: '10.1.0.9',
      port: 80,
    });
    assert.equal(res.status, 200);
    assert.equal(res.text, '{"clientBeatInterval":5000,"code":20404}');
    assert.deepEqual(await hostsOf('DEFAULT_GROUP@@nobody'), [], 'a light beat registers nothing');
  });

  it('re-registers a missing instance from a beat that carries `beat` JSON (Node client)', async () => {
    const svc = 'DEFAULT_GROUP@@comeback';
    const beat = {
      serviceName: svc,
      ip: '10.1.1.1',
      port: 8080,
      cluster: 'DEFAULT',
      weight: 2,
      metadata: { version: 'v2', 'preserved.heart.beat.interval': '2000' },
      scheduled: true,
      unknownKey: 'ignored',
    };
    const res = await nodeBeat(svc, beat);
    assert.equal(res.status, 200);
    assert.equal(res.text, '{"clientBeatInterval":2000,"code":10200,"lightBeatEnabled":true}', 'its own interval');
    const hosts = await hostsOf(svc);
    assert.equal(hosts.length, 1);
    assert.equal(hosts[0]?.ip, '10.1.1.1');
    assert.equal(hosts[0]?.weight, 2);
    assert.equal(hosts[0]?.healthy, true);
    assert.equal(hosts[0]?.ephemeral, true);
    assert.deepEqual(hosts[0]?.metadata, { version: 'v2', 'preserved.heart.beat.interval': '2000' });
    assert.equal(hosts[0]?.instanceHeartBeatInterval, 2000);
    // Without a weight in the beat: 1.0 (see the plugin notes for why not Nacos's 0.0).
    await nodeBeat(svc, { serviceName: svc, ip: '10.1.1.2', port: 8080, cluster: 'DEFAULT' });
    assert.equal((await hostsOf(svc)).find((h) => h.ip === '10.1.1.2')?.weight, 1);
  });

  it('takes `beat` from a form body with the rest in the query string (Java 1.x client)', async () => {
    const svc = 'DEFAULT_GROUP@@javabeat';
    const beat = {
      serviceName: svc,
      ip: '10.1.2.1',
      port: 7001,
      cluster: 'c1',
      weight: 1.0,
      metadata: { a: 'b' },
      scheduled: false,
      period: 5000,
      stopped: false,
    };
    const res = await n.java(
      'PUT',
      '/nacos/v1/ns/instance/beat',
      { namespaceId: 'public', serviceName: svc, clusterName: 'c1', ip: '10.1.2.1', port: 7001 },
      { beat: JSON.stringify(beat) },
    );
    assert.equal(res.status, 200, res.text);
    assert.equal(res.text, '{"clientBeatInterval":5000,"code":10200,"lightBeatEnabled":true}');
    const hosts = await hostsOf(svc);
    assert.deepEqual(
      hosts.map((h) => [h.ip, h.port, h.clusterName, h.metadata]),
      [['10.1.2.1', 7001, 'c1', { a: 'b' }]],
    );
  });

  it('refuses a beat without serviceName, or with malformed `beat` JSON', async () => {
    const noService = await n.node('PUT', '/nacos/v1/ns/instance/beat', { beat: '{"ip":"10.1.0.1","port":80}' });
    assert.equal(noService.status, 400);
    assert.equal(noService.text, "Param 'serviceName' is required.");
    const bad = await n.node('PUT', '/nacos/v1/ns/instance/beat', { serviceName: 'svc', beat: '{"ip":' });
    assert.equal(bad.status, 400);
    assert.match(bad.text, /^Param 'beat' is not valid JSON/);
  });

  it('keeps a beating instance healthy; once beats stop it turns unhealthy, then is removed, on its timeouts', async () => {
    const svc = 'DEFAULT_GROUP@@mortal';
    // Shortened through the preserved metadata keys: beat every 100 ms, unhealthy after 1.5 s, removed after 3 s
    // (wide enough that a loaded machine's stalls between our beats do not matter).
    const metadata = {
      'preserved.heart.beat.interval': '100',
      'preserved.heart.beat.timeout': '1500',
      'preserved.ip.delete.timeout': '3000',
    };
    const reg = await n.node('POST', '/nacos/v1/ns/instance', {
      serviceName: svc,
      ip: '10.1.3.1',
      port: 9000,
      metadata: JSON.stringify(metadata),
    });
    assert.equal(reg.text, 'ok');
    const beat = {
      serviceName: svc,
      ip: '10.1.3.1',
      port: 9000,
      cluster: 'DEFAULT',
      weight: 1,
      metadata,
      scheduled: true,
    };
    // Beat for longer than the delete timeout: it stays, healthy.
    const beatUntil = Date.now() + 3500;
    let lastBeatSentAt = 0;
    while (Date.now() < beatUntil) {
      lastBeatSentAt = Date.now();
      const res = await nodeBeat(svc, beat);
      assert.equal(res.json<{ code: number; clientBeatInterval: number }>().code, 10_200);
      assert.equal((await detail(svc, '10.1.3.1', 9000)).json<{ healthy: boolean }>().healthy, true);
      await sleep(100);
    }
    // Stop beating: unhealthy first (still listed, detail says unhealthy) ... Times are measured
    // from when the last beat was sent, which is no later than the renewal it made.
    await until(
      async () => (await detail(svc, '10.1.3.1', 9000)).json<{ healthy: boolean }>().healthy === false,
      10_000,
      'the instance turns unhealthy',
    );
    const unhealthyAfterMs = Date.now() - lastBeatSentAt;
    assert.ok(unhealthyAfterMs >= 1500, `unhealthy after ${unhealthyAfterMs} ms, not before its 1500 ms timeout`);
    // ... then gone.
    await until(async () => (await detail(svc, '10.1.3.1', 9000)).status === 404, 10_000, 'the instance is removed');
    const removedAfterMs = Date.now() - lastBeatSentAt;
    assert.ok(removedAfterMs >= 3000, `removed after ${removedAfterMs} ms, not before its 3000 ms delete timeout`);
    assert.deepEqual(await hostsOf(svc), []);
    // Its next beat (the client never knew) brings it back, healthy.
    const back = await nodeBeat(svc, beat);
    assert.equal(back.text, '{"clientBeatInterval":100,"code":10200,"lightBeatEnabled":true}');
    assert.equal((await detail(svc, '10.1.3.1', 9000)).json<{ healthy: boolean }>().healthy, true);
  });
});

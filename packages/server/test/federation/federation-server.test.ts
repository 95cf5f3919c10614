import assert from 'node:assert/strict';
import { Resolver } from 'node:dns/promises';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { FederatedChange, FederatedInstance, FederatedService } from '../../src/federation/federated-view.js';
import { freePort, startZoneCluster, type ZoneCluster } from '../helpers/zone-cluster.js';
import { http, ORDERS, register, startFederation, type TestFederation, waitFor } from './federation-kit.js';

// Two real zones of one replica each, and federation nodes over them: the REST API, zone actions
// forwarded to the zones, weights applied by every node, and a zone's loss under both policies.

const SERVICE_PATH = '/v1/services/public/DEFAULT_GROUP/orders';

describe('federation server over two real zones', () => {
  let az1: ZoneCluster;
  let az2: ZoneCluster;
  /** policy keep */
  let fedA: TestFederation;
  /** policy drop, short grace */
  let fedB: TestFederation;

  before(async () => {
    [az1, az2] = await Promise.all([
      startZoneCluster({ zone: 'az1', replicas: 1 }),
      startZoneCluster({ zone: 'az2', replicas: 1 }),
    ]);
    const zones = [
      { zone: 'az1', urls: az1.urls },
      { zone: 'az2', urls: az2.urls },
    ];
    fedA = await startFederation(zones);
    fedB = await startFederation(zones, {
      args: ['--policy', 'drop', '--drop-after-ms', '300', '--dns', '127.0.0.1:0'],
    });
    await register(az1.urls[0]!, 'orders', '10.1.0.1');
    await register(az1.urls[0]!, 'orders', '10.1.0.2');
    for (const ip of ['10.2.0.1', '10.2.0.2', '10.2.0.3']) await register(az2.urls[0]!, 'orders', ip);
    await register(az2.urls[0]!, 'payments', '10.2.0.9');
    for (const fed of [fedA, fedB]) {
      await waitFor(() => fed.view.counts().instances === 6, `${fed.nodeId} sees 6 instances`);
    }
  });

  after(async () => {
    await Promise.all([fedA?.close(), fedB?.close()]);
    await Promise.all([az1?.stop(), az2?.stop()]);
  });

  test('REST: zones, namespaces, services with per-zone counts, one service, health, metrics', async () => {
    const zones = await http<{ revision: number; mergeMode: string; zones: Record<string, unknown>[] }>(
      'GET',
      `${fedA.url}/v1/zones`,
    );
    assert.equal(zones.status, 200);
    assert.equal(zones.body.mergeMode, 'flat');
    assert.equal(zones.body.revision, fedA.view.revision);
    assert.deepEqual(
      zones.body.zones.map((z) => [z['zone'], z['state'], z['serving'], z['instances'], z['replica'], z['weight']]),
      [
        ['az1', 'live', true, 2, az1.urls[0], 100],
        ['az2', 'live', true, 4, az2.urls[0], 100],
      ],
    );
    assert.equal((await http('GET', `${fedA.url}/v1/zones/az2`)).body['zone'] !== undefined, true);
    const noZone = await http('GET', `${fedA.url}/v1/zones/az7`);
    assert.equal(noZone.status, 404);
    assert.equal(noZone.body['code'], 'NOT_FOUND');
    const badZone = await http('GET', `${fedA.url}/v1/zones/AZ1`);
    assert.equal(badZone.status, 400);
    assert.equal(badZone.body['code'], 'VALIDATION_FAILED');

    const ns = await http<{ namespaces: { id: string }[] }>('GET', `${fedA.url}/v1/namespaces`);
    assert.ok(ns.body.namespaces.some((n) => n.id === 'public'));

    type List = { total: number; services: { service: string; zones: Record<string, { share: number }> }[] };
    const list = await http<List>('GET', `${fedA.url}/v1/services`);
    assert.deepEqual(
      list.body.services.map((s) => s.service),
      ['orders', 'payments'],
    );
    const orders = list.body.services[0]! as unknown as Record<string, unknown>;
    assert.deepEqual(orders['zones'], {
      az1: { total: 2, healthy: 2, serving: 2, share: 0.4 },
      az2: { total: 3, healthy: 3, serving: 3, share: 0.6 },
    });
    assert.equal(orders['total'], 5);
    assert.deepEqual(
      (await http<List>('GET', `${fedA.url}/v1/services?q=PAY`)).body.services.map((s) => s.service),
      ['payments'],
    );
    assert.equal((await http<List>('GET', `${fedA.url}/v1/services?namespace=other`)).body.services.length, 0);
    assert.equal((await http<List>('GET', `${fedA.url}/v1/services?group=DEFAULT_GROUP`)).body.services.length, 2);
    const limited = await http<List>('GET', `${fedA.url}/v1/services?limit=1`);
    assert.equal(limited.body.services.length, 1);
    assert.equal(limited.body.total, 2);
    assert.equal((await http('GET', `${fedA.url}/v1/services?limit=0`)).body['code'], 'VALIDATION_FAILED');

    const one = await http<{ revision: number; service: FederatedService }>('GET', `${fedA.url}${SERVICE_PATH}`);
    assert.equal(one.status, 200);
    assert.equal(one.headers.get('x-cairn-revision'), String(one.body.revision));
    assert.equal(one.body.service.info?.service, 'orders');
    assert.deepEqual(
      one.body.service.instances.map((i) => [i.zone, i.ip, i.effectiveWeight, i.stale, i.healthy]),
      [
        ['az1', '10.1.0.1', 100, false, true],
        ['az1', '10.1.0.2', 100, false, true],
        ['az2', '10.2.0.1', 100, false, true],
        ['az2', '10.2.0.2', 100, false, true],
        ['az2', '10.2.0.3', 100, false, true],
      ],
    );
    const missing = await http('GET', `${fedA.url}/v1/services/public/DEFAULT_GROUP/nope`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body['code'], 'NOT_FOUND');
    assert.equal((await http('GET', `${fedA.url}/v1/nothing-here`)).body['code'], 'NOT_FOUND');

    assert.equal((await http('GET', `${fedA.url}/healthz`)).status, 200);
    const ready = await http('GET', `${fedA.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.equal(ready.body['status'], 'ready');
    const metrics = await (await fetch(`${fedA.url}/metrics`)).text();
    assert.match(metrics, /^cairn_federation_zones\{state="live",node="[^"]+"\} 2$/m);
    assert.match(metrics, /^cairn_federation_instances\{node="[^"]+"\} 6$/m);
    assert.match(metrics, /^cairn_federation_zone_staleness_seconds\{zone="az1",node="[^"]+"\} 0$/m);
    const lagCount = /^cairn_federation_update_lag_seconds_count\{[^}]*zone="az2"[^}]*\} (\d+)$/m.exec(metrics);
    assert.ok(lagCount && Number(lagCount[1]) > 0, 'update lag observed');
  });

  test('DNS serves the merged view when configured', async () => {
    assert.equal(fedA.dnsAddress, null);
    assert.match(fedB.dnsAddress ?? '', /^127\.0\.0\.1:\d+$/);
    const resolver = new Resolver();
    resolver.setServers([fedB.dnsAddress!]);
    const srv = await resolver.resolveSrv('_orders._tcp.service.cairn');
    assert.equal(srv.length, 5);
    assert.ok(srv.every((r) => r.port === 8080));
  });

  test('two federation nodes serve the same view', () => {
    const a = fedA.view.service(ORDERS)!;
    const b = fedB.view.service(ORDERS)!;
    assert.deepEqual(b.instances, a.instances);
    assert.deepEqual(b.zones, a.zones);
    assert.deepEqual(fedB.view.listServices(), fedA.view.listServices());
    assert.notEqual(fedA.nodeId, fedB.nodeId);
  });

  test('zone actions are forwarded to the zone; its weight reaches every federation node', async () => {
    const drained = await http('PUT', `${fedA.url}/v1/zones/az1/weight`, { weight: 0 });
    assert.equal(drained.status, 200, JSON.stringify(drained.body));
    assert.equal(drained.body['weight'], 0);
    for (const fed of [fedA, fedB]) {
      await waitFor(() => fed.view.zone('az1')!.weight === 0, `${fed.nodeId} applies az1 weight 0`);
      const s = fed.view.service(ORDERS)!;
      assert.ok(s.instances.filter((i) => i.zone === 'az1').every((i) => i.effectiveWeight === 0));
      assert.equal(s.zones['az1']!.share, 0);
      assert.equal(s.zones['az2']!.share, 1);
    }
    // The zone's own refusal is relayed as is.
    const refused = await http('PUT', `${fedA.url}/v1/zones/az1/weight`, { weight: 500 });
    assert.equal(refused.status, 400);
    assert.equal(refused.body['code'], 'VALIDATION_FAILED');
    assert.equal((await http('PUT', `${fedA.url}/v1/zones/az7/weight`, { weight: 1 })).status, 404);
    assert.equal((await http('PUT', `${fedA.url}/v1/zones/az1/weight`, { weight: 100 })).status, 200);
    await waitFor(() => fedB.view.zone('az1')!.weight === 100, 'az1 back to 100');

    const disabled = await http('PATCH', `${fedA.url}/v1/zones/az2/instances`, {
      service: 'orders',
      ip: '10.2.0.3',
      port: 8080,
      enabled: false,
    });
    assert.equal(disabled.status, 200, JSON.stringify(disabled.body));
    const off = (i: FederatedInstance) => i.ip === '10.2.0.3';
    await waitFor(() => fedA.view.service(ORDERS)!.instances.find(off)!.enabled === false, 'instance disabled');
    assert.equal(fedA.view.service(ORDERS)!.instances.find(off)!.effectiveWeight, 0);

    const patched = await http('PATCH', `${fedA.url}/v1/zones/az2/services/public/DEFAULT_GROUP/orders`, {
      metadata: { owner: 'team-a' },
    });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.deepEqual((patched.body['service'] as { metadata: unknown }).metadata, { owner: 'team-a' });

    const removed = await http('DELETE', `${fedA.url}/v1/zones/az2/instances?service=payments&ip=10.2.0.9&port=8080`);
    assert.equal(removed.status, 200, JSON.stringify(removed.body));
    await waitFor(
      () => fedA.view.service({ ...ORDERS, service: 'payments' })?.total === 0,
      'payments instance gone from the view',
    );
    const cluster = await http<{ zone: string; role: string; replicas: { url: string; up: boolean }[] }>(
      'GET',
      `${fedA.url}/v1/zones/az2/cluster`,
    );
    assert.equal(cluster.status, 200);
    assert.equal(cluster.body.zone, 'az2');
    assert.equal(cluster.body.role, 'leader');
    assert.deepEqual(
      cluster.body.replicas.map((r) => [r.url, r.up]),
      [[az2.urls[0], true]],
    );
  });

  test("forwarding passes Authorization through, relays the zone's answer as is, skips replicas that are down", async () => {
    const seen: { method: string; url: string; auth: string | undefined; body: string }[] = [];
    const fake = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', auth: req.headers.authorization, body });
        if (req.url === '/v1/cluster') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ zone: 'az9', node: 'f1', role: 'follower', members: [] }));
          return;
        }
        res.writeHead(418, { 'content-type': 'application/json', 'x-cairn-revision': '77' });
        res.end('{"code":"FORBIDDEN","message":"teapot says no","extra":1}');
      });
    });
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', () => r()));
    const fakeUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
    const deadUrl = `http://127.0.0.1:${await freePort()}`;
    const fedC = await startFederation([{ zone: 'az9', urls: [deadUrl, fakeUrl] }]);
    try {
      const res = await fetch(`${fedC.url}/v1/zones/az9/instances?x=1`, {
        method: 'PATCH',
        headers: { authorization: 'Bearer secret-token', 'content-type': 'application/json' },
        body: '{"service":"orders", "ip":"1.2.3.4","port":1,"weight":5}',
      });
      assert.equal(res.status, 418);
      assert.equal(res.headers.get('x-cairn-revision'), '77');
      assert.equal(await res.text(), '{"code":"FORBIDDEN","message":"teapot says no","extra":1}');
      const call = seen.find((s) => s.method === 'PATCH')!;
      assert.equal(call.url, '/v1/instances?x=1');
      assert.equal(call.auth, 'Bearer secret-token');
      assert.equal(call.body, '{"service":"orders", "ip":"1.2.3.4","port":1,"weight":5}', 'body bytes unchanged');

      const cluster = await http<{ node: string; replicas: { url: string; up: boolean }[] }>(
        'GET',
        `${fedC.url}/v1/zones/az9/cluster`,
        undefined,
        { authorization: 'Bearer secret-token' },
      );
      assert.equal(cluster.status, 200);
      assert.equal(cluster.body.node, 'f1');
      assert.deepEqual(
        cluster.body.replicas.map((r) => [r.url, r.up]),
        [
          [deadUrl, false],
          [fakeUrl, true],
        ],
      );
      assert.equal(seen.find((s) => s.url === '/v1/cluster')!.auth, 'Bearer secret-token');
      // The fake is not a registry: the zone never goes live, and the node is not ready until the grace passes.
      assert.equal(fedC.view.zone('az9')!.state, 'connecting');
      assert.equal((await http('GET', `${fedC.url}/readyz`)).status, 503);
    } finally {
      await fedC.close();
      await new Promise((r) => fake.close(r));
    }
  });

  test("losing one zone's registry leaves the other zone untouched; keep serves it stale, drop removes it until it returns", async () => {
    const az2Before = fedA.view.service(ORDERS)!.instances.filter((i) => i.zone === 'az2');
    const changesA: FederatedChange[] = [];
    const stop = fedA.view.onChange((_r, changes) => changesA.push(...changes));
    await az1.kill('n1');
    await waitFor(() => fedA.view.zone('az1')!.state === 'stale', 'az1 stale on A');
    await waitFor(() => !fedB.view.zone('az1')!.serving, 'az1 dropped on B');

    // keep (A): az1's instances still served, marked stale.
    const a = fedA.view.service(ORDERS)!;
    assert.equal(a.instances.filter((i) => i.zone === 'az1').length, 2);
    assert.ok(a.instances.filter((i) => i.zone === 'az1').every((i) => i.stale && i.effectiveWeight === 100));
    assert.deepEqual(
      a.instances.filter((i) => i.zone === 'az2'),
      az2Before,
    );
    assert.ok(
      changesA.every((c) => c.kind !== 'instance' || c.instance.zone === 'az1'),
      'no change to az2 instances emitted',
    );
    assert.equal(fedA.view.zone('az2')!.state, 'live');
    assert.notEqual(fedA.view.zone('az1')!.staleSinceMs, null);
    assert.equal((await http('GET', `${fedA.url}/readyz`)).status, 200, 'still ready: the zone was live once');

    // drop (B): az1 gone from the view, az2 as before.
    const b = fedB.view.service(ORDERS)!;
    assert.deepEqual(Object.keys(b.zones), ['az2']);
    assert.deepEqual(
      b.instances.map((i) => i.ip),
      ['10.2.0.1', '10.2.0.2', '10.2.0.3'],
    );

    // The zone comes back: both nodes serve it again (A resumes by revision).
    await az1.restart('n1');
    for (const fed of [fedA, fedB]) {
      await waitFor(() => fed.view.zone('az1')!.state === 'live', `az1 live again on ${fed.nodeId}`);
      const s = fed.view.service(ORDERS)!;
      assert.equal(s.instances.filter((i) => i.zone === 'az1' && !i.stale).length, 2);
    }
    stop();
  });
});

// The DNS server answered by Node's own resolver (c-ares): what a Node gateway or the SDK would see.
import assert from 'node:assert/strict';
import { Resolver } from 'node:dns/promises';
import { after, before, describe, it } from 'node:test';
import { addInstances, type Fixture, startFixture } from './dns-test-kit.js';

describe('dns server, asked by node:dns Resolver', () => {
  let fx: Fixture;
  let resolver: Resolver;

  before(async () => {
    fx = await startFixture({ zones: ['az1', 'az2'] });
    fx.view.batch(() => {
      fx.view.putInstance({ zone: 'az1', service: 'orders', ip: '10.1.0.1', port: 8080, weight: 200 });
      fx.view.putInstance({ zone: 'az2', service: 'orders', ip: '10.2.0.1', port: 8081, weight: 100 });
      fx.view.putInstance({ zone: 'az2', service: 'orders', ip: '10.2.0.2', port: 8081, healthy: false });
      fx.view.putService({ service: 'idle' });
    });
    addInstances(fx.view, 'az1', 'big', 120, 1);
    addInstances(fx.view, 'az2', 'big', 120, 2);
    resolver = new Resolver({ timeout: 3000, tries: 1 });
    resolver.setServers([`127.0.0.1:${fx.port}`]);
  });
  after(() => fx.server.close());

  it('resolves SRV with scaled weights', async () => {
    const srv = await resolver.resolveSrv('_orders._tcp.service.cairn');
    assert.deepEqual(
      srv.map((s) => ({ ...s })),
      [
        { name: '10-1-0-1.addr.cairn', port: 8080, priority: 1, weight: 255 * 256 },
        { name: '10-2-0-1.addr.cairn', port: 8081, priority: 1, weight: 128 * 256 },
      ],
    );
  });

  it('resolves A for the service and for SRV targets, with TTLs of at most 1 s', async () => {
    const a = await resolver.resolve4('orders.service.cairn', { ttl: true });
    assert.deepEqual(
      a.map((x) => x.address),
      ['10.1.0.1', '10.2.0.1'],
    );
    assert.ok(a.every((x) => x.ttl <= 1));
    assert.deepEqual(await resolver.resolve4('10-2-0-1.addr.cairn'), ['10.2.0.1']);
    assert.deepEqual(await resolver.resolve4('orders.service.az2.cairn'), ['10.2.0.1']);
  });

  it('tells unknown names (ENOTFOUND) from names with nothing to serve (ENODATA) and foreign ones (EREFUSED)', async () => {
    await assert.rejects(resolver.resolveSrv('_nope._tcp.service.cairn'), { code: 'ENOTFOUND' });
    await assert.rejects(resolver.resolveSrv('_idle._tcp.service.cairn'), { code: 'ENODATA' });
    await assert.rejects(resolver.resolve6('orders.service.cairn'), { code: 'ENODATA' });
    await assert.rejects(resolver.resolve4('example.com'), { code: 'EREFUSED' });
  });

  it('gets every one of 240 instances (c-ares retries over TCP after TC)', async () => {
    const srv = await resolver.resolveSrv('_big._tcp.service.cairn');
    assert.equal(srv.length, 240);
    assert.equal(new Set(srv.map((s) => s.name)).size, 240);
    assert.ok(srv.every((s) => s.weight === 255 * 256 && s.port === 8080));
    assert.ok(fx.server.stats().queries.tcp > 0, 'the full answer came over TCP');
  });

  it('sees a new registration in the very next answer', async () => {
    fx.view.putInstance({ zone: 'az2', service: 'orders', ip: '10.2.0.9', port: 8081, weight: 100 });
    const srv = await resolver.resolveSrv('_orders._tcp.service.cairn');
    assert.ok(srv.some((s) => s.name === '10-2-0-9.addr.cairn'));
  });

  it('counts queries by type and rcode', () => {
    const s = fx.server.stats();
    assert.ok((s.byType['SRV'] ?? 0) >= 4);
    assert.ok((s.byType['A'] ?? 0) >= 3);
    assert.ok((s.byRcode['NXDOMAIN'] ?? 0) >= 1);
    assert.ok((s.byRcode['REFUSED'] ?? 0) >= 1);
    assert.ok((s.byRcode['NOERROR'] ?? 0) >= 5);
  });
});

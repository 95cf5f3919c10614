// Name parsing, address labels and SRV weights: the pure parts of the DNS naming scheme.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addressLabel, addressOfLabel, parseAddress, parseIpv6 } from '../../../src/federation/dns/address-label.js';
import { type NameQuery, parseQueryName } from '../../../src/federation/dns/query-name.js';
import { labelsOf } from '../../../src/federation/dns/records.js';
import { haproxyWeight, srvWeight } from '../../../src/federation/dns/srv-weight.js';

const ZONES = ['az1', 'AZ-West'];
const zoneOf = (label: string): string | null => ZONES.find((z) => z.toLowerCase() === label.toLowerCase()) ?? null;
const parse = (name: string, domain = 'cairn'): NameQuery => parseQueryName(labelsOf(name), labelsOf(domain), zoneOf);
const svc = (service: string, group = 'DEFAULT_GROUP', namespace = 'public') => ({ namespace, group, service });

describe('parseQueryName', () => {
  it('reads the default-namespace forms', () => {
    assert.deepEqual(parse('orders.service.cairn'), { kind: 'service', candidates: [svc('orders')], zone: null });
    assert.deepEqual(parse('_orders._tcp.service.cairn'), { kind: 'service', candidates: [svc('orders')], zone: null });
    assert.deepEqual(parse('_Orders._TCP.SERVICE.Cairn'), { kind: 'service', candidates: [svc('Orders')], zone: null });
  });

  it('reads group and namespace: unambiguous after _tcp, two readings in the plain form', () => {
    assert.deepEqual(parse('_orders._tcp.prod.team-a.service.cairn'), {
      kind: 'service',
      candidates: [svc('orders', 'prod', 'team-a')],
      zone: null,
    });
    assert.deepEqual(parse('orders.prod.team-a.service.cairn'), {
      kind: 'service',
      candidates: [svc('orders.prod.team-a'), svc('orders', 'prod', 'team-a')],
      zone: null,
    });
    assert.deepEqual(parse('_com.acme.orders._tcp.service.cairn'), {
      kind: 'service',
      candidates: [svc('com.acme.orders')],
      zone: null,
    });
    assert.deepEqual(parse('_orders._tcp.prod.service.cairn'), { kind: 'unknown' }, 'a group needs its namespace');
  });

  it('reads zone-scoped names when the label names a configured zone', () => {
    assert.deepEqual(parse('orders.service.az1.cairn'), { kind: 'service', candidates: [svc('orders')], zone: 'az1' });
    assert.deepEqual(parse('_orders._tcp.prod.ns1.service.az-west.cairn'), {
      kind: 'service',
      candidates: [svc('orders', 'prod', 'ns1')],
      zone: 'AZ-West',
    });
    assert.deepEqual(parse('orders.service.az9.cairn'), { kind: 'unknown' });
  });

  it('tells the apex, empty names, addresses, unknown and foreign names apart', () => {
    assert.deepEqual(parse('cairn'), { kind: 'apex' });
    assert.deepEqual(parse('CAIRN'), { kind: 'apex' });
    for (const name of ['service.cairn', 'addr.cairn', 'az1.cairn', 'service.az1.cairn']) {
      assert.deepEqual(parse(name), { kind: 'empty' }, name);
    }
    assert.deepEqual(parse('10-0-0-1.addr.cairn'), {
      kind: 'address',
      address: { family: 4, bytes: Uint8Array.from([10, 0, 0, 1]) },
    });
    for (const name of ['010-0-0-1.addr.cairn', 'x.10-0-0-1.addr.cairn', 'orders.cairn', 'orders.svc.cairn']) {
      assert.deepEqual(parse(name), { kind: 'unknown' }, name);
    }
    assert.deepEqual(parse('orders.service.consul'), { kind: 'outside' });
    assert.deepEqual(parse('cairn.example.com'), { kind: 'outside' });
    assert.deepEqual(parse('orders.service.cairn.internal', 'cairn.internal'), {
      kind: 'service',
      candidates: [svc('orders')],
      zone: null,
    });
  });

  it('drops readings that break cairn name rules (so they cannot match by accident)', () => {
    assert.deepEqual(parse('or ders.service.cairn'), { kind: 'unknown' });
    assert.deepEqual(parse('_._tcp.service.cairn'), { kind: 'unknown' });
  });
});

describe('address labels', () => {
  it('round-trips IPv4 and IPv6', () => {
    for (const ip of ['10.0.0.1', '255.255.255.255', '2001:db8::1', '::1', '::ffff:10.1.2.3', 'fe80::1:2:3:4']) {
      const addr = parseAddress(ip);
      assert.ok(addr, ip);
      assert.deepEqual(addressOfLabel(addressLabel(addr)), addr, ip);
    }
    assert.equal(addressLabel(parseAddress('10.0.0.1')!), '10-0-0-1');
    assert.equal(addressLabel(parseAddress('2001:db8::1')!), '20010db8000000000000000000000001');
  });

  it('rejects host names, zone ids and malformed IPv6', () => {
    for (const ip of ['orders.internal', 'fe80::1%eth0', '1::2::3', '1:2:3:4:5:6:7:8:9', '1.2.3.4::', 'g::1', '']) {
      assert.equal(parseAddress(ip), null, ip);
    }
    assert.deepEqual(Array.from(parseIpv6('1:2:3:4:5:6:7:8')!), [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]);
  });
});

describe('srvWeight', () => {
  it('publishes r × 256 so that HAProxy reads back r = max(1, round(255 w / max))', () => {
    assert.equal(srvWeight(100, 100), 65_280);
    assert.equal(haproxyWeight(srvWeight(100, 100)), 255);
    assert.equal(haproxyWeight(srvWeight(50, 100)), 128);
    assert.equal(haproxyWeight(srvWeight(1, 65_535)), 1, 'never 0 for a serving instance');
    assert.equal(haproxyWeight(srvWeight(20, 100)), 51);
  });

  it('keeps ratios that raw weights would collapse', () => {
    // Raw SRV weights 100 and 200 would both be HAProxy weight 1.
    assert.equal(haproxyWeight(100), haproxyWeight(200));
    assert.equal(haproxyWeight(srvWeight(200, 200)) / haproxyWeight(srvWeight(100, 200)), 255 / 128);
  });

  it('refuses weights that must not be published', () => {
    assert.throws(() => srvWeight(0, 100));
    assert.throws(() => srvWeight(101, 100));
  });
});

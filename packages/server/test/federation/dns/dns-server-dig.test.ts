// The DNS server answered by a real client: dig over UDP and TCP, with and without EDNS.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { haproxyWeight } from '../../../src/federation/dns/srv-weight.js';
import { addInstances, dig, type Fixture, NO_DIG, srvOf, startFixture } from './dns-test-kit.js';

describe('dns server, asked by dig', { skip: NO_DIG }, () => {
  let fx: Fixture;
  const q = (...args: string[]) => dig(fx.port, ...args);

  before(async () => {
    fx = await startFixture({ zones: ['az1', 'az2'] });
    const v = fx.view;
    v.batch(() => {
      v.putInstance({ zone: 'az1', service: 'orders', ip: '10.1.0.1', port: 8080, weight: 100 });
      v.putInstance({ zone: 'az1', service: 'orders', ip: '10.1.0.2', port: 8080, weight: 50 });
      v.putInstance({ zone: 'az2', service: 'orders', ip: '10.2.0.1', port: 8081, weight: 1 });
      // Left out: unhealthy, disabled, weight 0.
      v.putInstance({ zone: 'az2', service: 'orders', ip: '10.2.0.2', port: 8080, healthy: false });
      v.putInstance({ zone: 'az2', service: 'orders', ip: '10.2.0.3', port: 8080, enabled: false });
      v.putInstance({ zone: 'az2', service: 'orders', ip: '10.2.0.4', port: 8080, weight: 0 });
      // Two ports on one address: two SRV records, one A record.
      v.putInstance({ zone: 'az1', service: 'carts', ip: '10.1.1.1', port: 8080 });
      v.putInstance({ zone: 'az1', service: 'carts', ip: '10.1.1.1', port: 8081 });
      v.putInstance({ zone: 'az2', service: 'carts', ip: '2001:db8::1', port: 8080 });
      v.putInstance({
        zone: 'az1',
        service: 'payments',
        group: 'prod',
        namespace: 'team-a',
        ip: '10.1.2.1',
        port: 9000,
      });
      v.putInstance({ zone: 'az1', service: 'com.example.Billing', ip: '10.1.3.1', port: 7000 });
      v.putInstance({ zone: 'az1', service: 'sick', ip: '10.1.4.1', port: 7000, healthy: false });
      v.putService({ service: 'idle' });
    });
  });
  after(() => fx.server.close());

  it('answers SRV for _orders._tcp.service.cairn with A records in the additional section', async () => {
    const r = await q('SRV', '_orders._tcp.service.cairn');
    assert.equal(r.status, 'NOERROR');
    assert.ok(r.flags.includes('aa'), 'authoritative');
    assert.equal(r.answer.length, 3);
    const srv = r.answer.map(srvOf);
    assert.deepEqual(
      srv.map((s) => [s.priority, s.port, s.target]),
      [
        [1, 8080, '10-1-0-1.addr.cairn.'],
        [1, 8080, '10-1-0-2.addr.cairn.'],
        [1, 8081, '10-2-0-1.addr.cairn.'],
      ],
    );
    for (const rec of r.answer) {
      assert.equal(rec.name, '_orders._tcp.service.cairn.');
      assert.equal(rec.ttl, 1);
    }
    assert.deepEqual(
      r.additional.map((a) => [a.name, a.type, a.data[0]]),
      [
        ['10-1-0-1.addr.cairn.', 'A', '10.1.0.1'],
        ['10-1-0-2.addr.cairn.', 'A', '10.1.0.2'],
        ['10-2-0-1.addr.cairn.', 'A', '10.2.0.1'],
      ],
    );
  });

  it('scales SRV weights so HAProxy keeps the ratios (r × 256, r = max(1, round(255 w / max)))', async () => {
    const r = await q('SRV', '_orders._tcp.service.cairn');
    const weights = r.answer.map((a) => srvOf(a).weight);
    assert.deepEqual(weights, [255 * 256, 128 * 256, 3 * 256]);
    assert.deepEqual(weights.map(haproxyWeight), [255, 128, 3]);
  });

  it('follows zone weights: az2 at 50% halves its instances relative to az1', async () => {
    fx.view.setZoneWeight('az2', 50);
    try {
      const r = await q('SRV', '_carts._tcp.service.cairn');
      const byTarget = new Map(r.answer.map((a) => [`${srvOf(a).target}:${srvOf(a).port}`, srvOf(a).weight]));
      assert.equal(byTarget.get('10-1-1-1.addr.cairn.:8080'), 255 * 256);
      assert.equal(byTarget.get('20010db8000000000000000000000001.addr.cairn.:8080'), 128 * 256);
    } finally {
      fx.view.setZoneWeight('az2', 100);
    }
  });

  it('answers the plain name too, for SRV and A (addresses once each)', async () => {
    const srv = await q('SRV', 'carts.service.cairn');
    assert.equal(srv.answer.length, 3);
    const a = await q('A', 'carts.service.cairn');
    assert.equal(a.status, 'NOERROR');
    assert.deepEqual(
      a.answer.map((x) => [x.type, x.data[0]]),
      [['A', '10.1.1.1']],
    );
    const aaaa = await q('AAAA', '_carts._tcp.service.cairn');
    assert.deepEqual(
      aaaa.answer.map((x) => [x.type, x.data[0]]),
      [['AAAA', '2001:db8::1']],
    );
  });

  it('gives IPv6 targets AAAA records in the additional section, and answers the target names', async () => {
    const srv = await q('SRV', '_carts._tcp.service.cairn');
    const v6 = srv.additional.find((x) => x.type === 'AAAA');
    assert.deepEqual([v6?.name, v6?.data[0]], ['20010db8000000000000000000000001.addr.cairn.', '2001:db8::1']);
    assert.equal(srv.additional.filter((x) => x.type === 'A').length, 1, 'one A for two ports of one address');
    const a = await q('A', '10-1-0-2.addr.cairn');
    assert.deepEqual(
      a.answer.map((x) => x.data[0]),
      ['10.1.0.2'],
    );
    const aaaa = await q('AAAA', '20010DB8000000000000000000000001.addr.cairn');
    assert.deepEqual(
      aaaa.answer.map((x) => x.data[0]),
      ['2001:db8::1'],
    );
    const wrongFamily = await q('AAAA', '10-1-0-2.addr.cairn');
    assert.equal(wrongFamily.status, 'NOERROR');
    assert.equal(wrongFamily.answer.length, 0);
    const bad = await q('A', '10-1-0-256.addr.cairn');
    assert.equal(bad.status, 'NXDOMAIN');
  });

  it('scopes names to a zone: _orders._tcp.service.az1.cairn has only az1', async () => {
    const az1 = await q('SRV', '_orders._tcp.service.az1.cairn');
    assert.deepEqual(
      az1.answer.map((a) => srvOf(a).target),
      ['10-1-0-1.addr.cairn.', '10-1-0-2.addr.cairn.'],
    );
    // Weights are scaled within the answer: az2's only instance is its own maximum.
    const az2 = await q('SRV', 'orders.service.AZ2.cairn');
    assert.deepEqual(
      az2.answer.map((a) => [srvOf(a).target, srvOf(a).weight]),
      [['10-2-0-1.addr.cairn.', 255 * 256]],
    );
    const unknownZone = await q('SRV', 'orders.service.az9.cairn');
    assert.equal(unknownZone.status, 'NXDOMAIN');
    const emptyZone = await q('SRV', '_payments._tcp.prod.team-a.service.az2.cairn');
    assert.equal(emptyZone.status, 'NOERROR');
    assert.equal(emptyZone.answer.length, 0);
  });

  it('names a group and namespace: _<service>._tcp.<group>.<namespace>.service.cairn', async () => {
    for (const name of ['_payments._tcp.prod.team-a.service.cairn', 'payments.prod.team-a.service.cairn']) {
      const r = await q('SRV', name);
      assert.equal(r.status, 'NOERROR', name);
      assert.deepEqual(
        r.answer.map((a) => [srvOf(a).port, srvOf(a).target]),
        [[9000, '10-1-2-1.addr.cairn.']],
        name,
      );
    }
    const defaultGroup = await q('SRV', '_payments._tcp.service.cairn');
    assert.equal(defaultGroup.status, 'NXDOMAIN', 'payments is not in public / DEFAULT_GROUP');
  });

  it('matches case-insensitively when the match is unique, dotted service names included', async () => {
    for (const name of ['COM.EXAMPLE.BILLING.service.cairn', '_com.example.billing._TCP.SERVICE.CAIRN']) {
      const r = await q('SRV', name);
      assert.equal(r.status, 'NOERROR', name);
      assert.equal(r.answer.length, 1, name);
      assert.equal(r.answer[0]?.name, `${name}.`, 'the owner name keeps the query spelling');
    }
    fx.view.putInstance({ zone: 'az1', service: 'com.example.billing', ip: '10.1.3.2', port: 7000 });
    try {
      const exact = await q('SRV', 'com.example.billing.service.cairn');
      assert.deepEqual(
        exact.answer.map((a) => srvOf(a).target),
        ['10-1-3-2.addr.cairn.'],
      );
      const ambiguous = await q('SRV', 'COM.EXAMPLE.BILLING.service.cairn');
      assert.equal(ambiguous.status, 'NXDOMAIN', 'two services differ only in case: the exact spelling is needed');
    } finally {
      fx.view.deleteInstance('az1', '10.1.3.2#7000#DEFAULT#DEFAULT_GROUP@@com.example.billing');
    }
  });

  it('says NXDOMAIN for unknown names (with an SOA), NOERROR and nothing when nothing serves', async () => {
    const unknown = await q('SRV', '_nope._tcp.service.cairn');
    assert.equal(unknown.status, 'NXDOMAIN');
    assert.ok(unknown.flags.includes('aa'));
    assert.equal(unknown.authority[0]?.type, 'SOA');
    assert.equal(unknown.authority[0]?.name, 'cairn.');
    assert.ok(unknown.authority[0]!.ttl <= 1);
    for (const name of ['_idle._tcp.service.cairn', 'sick.service.cairn']) {
      const r = await q('SRV', name);
      assert.equal(r.status, 'NOERROR', name);
      assert.equal(r.answer.length, 0, name);
      assert.equal(r.authority[0]?.type, 'SOA', name);
    }
    const noV6 = await q('AAAA', 'orders.service.cairn');
    assert.equal(noV6.status, 'NOERROR');
    assert.equal(noV6.answer.length, 0);
    const strange = await q('SRV', 'orders.elsewhere.cairn');
    assert.equal(strange.status, 'NXDOMAIN');
    const soa = await q('SOA', 'cairn');
    assert.equal(soa.answer[0]?.type, 'SOA');
    const apexA = await q('A', 'cairn');
    assert.equal(apexA.status, 'NOERROR');
    assert.equal(apexA.answer.length, 0);
  });

  it('refuses names outside its domain and other classes', async () => {
    const outside = await q('A', 'example.com');
    assert.equal(outside.status, 'REFUSED');
    assert.ok(!outside.flags.includes('aa'));
    const chaos = await q('-c', 'CH', 'TXT', 'version.bind');
    assert.equal(chaos.status, 'REFUSED');
  });

  it('answers ANY like SRV (SRV answers, addresses as additional records)', async () => {
    const r = await q('ANY', '_orders._tcp.service.cairn');
    assert.equal(r.answer.length, 3);
    assert.ok(r.answer.every((a) => a.type === 'SRV'));
    assert.equal(r.additional.filter((a) => a.type === 'A').length, 3);
  });

  it('speaks EDNS version 0: advertises 8192, answers BADVERS to version 1', async () => {
    const r = await q('+bufsize=4096', 'SRV', '_orders._tcp.service.cairn');
    assert.equal(r.ednsUdp, 8192);
    const noEdns = await q('+noedns', 'SRV', '_orders._tcp.service.cairn');
    assert.equal(noEdns.ednsUdp, null);
    assert.equal(noEdns.answer.length, 3);
    const v1 = await q('+edns=1', '+noednsneg', 'SRV', '_orders._tcp.service.cairn');
    assert.equal(v1.status, 'BADVERS');
  });

  it('reflects changes to the view in the next answer', async () => {
    const name = '_live._tcp.service.cairn';
    assert.equal((await q('SRV', name)).status, 'NXDOMAIN');
    const inst = fx.view.putInstance({ zone: 'az1', service: 'live', ip: '10.9.0.1', port: 80 });
    assert.deepEqual(
      (await q('SRV', name)).answer.map((a) => srvOf(a).target),
      ['10-9-0-1.addr.cairn.'],
    );
    fx.view.putInstance({ zone: 'az2', service: 'live', ip: '10.9.0.2', port: 80 });
    assert.equal((await q('SRV', name)).answer.length, 2);
    fx.view.putInstance({ zone: 'az1', service: 'live', ip: '10.9.0.1', port: 80, healthy: false });
    assert.deepEqual(
      (await q('SRV', name)).answer.map((a) => srvOf(a).target),
      ['10-9-0-2.addr.cairn.'],
    );
    fx.view.setZoneWeight('az2', 0);
    const drained = await q('SRV', name);
    assert.equal(drained.status, 'NOERROR');
    assert.equal(drained.answer.length, 0);
    fx.view.setZoneWeight('az2', 100);
    fx.view.deleteInstance('az1', inst.id);
    fx.view.deleteInstance('az2', '10.9.0.2#80#DEFAULT#DEFAULT_GROUP@@live');
    assert.equal((await q('SRV', name)).status, 'NXDOMAIN');
  });
});

describe('dns server, large answers through dig', { skip: NO_DIG }, () => {
  let fx: Fixture;
  const q = (...args: string[]) => dig(fx.port, ...args);
  const name = '_big._tcp.service.cairn';

  before(async () => {
    fx = await startFixture({ zones: ['az1', 'az2'] });
    addInstances(fx.view, 'az1', 'big', 100, 1);
    addInstances(fx.view, 'az2', 'big', 100, 2);
    addInstances(fx.view, 'az1', 'mid', 100, 3);
  });
  after(() => fx.server.close());

  it('sets TC over UDP when 200 instances do not fit, and TCP carries all of them', async () => {
    const udp = await q('+notcp', '+ignore', '+bufsize=1232', 'SRV', name);
    assert.ok(udp.flags.includes('tc'), 'truncated');
    assert.ok(udp.answer.length > 0 && udp.answer.length < 200, `partial answer (${udp.answer.length})`);
    assert.equal(udp.additional.length, 0, 'no additional records once the answer is cut');
    const tcp = await q('+tcp', 'SRV', name);
    assert.ok(!tcp.flags.includes('tc'));
    assert.equal(tcp.answer.length, 200);
    assert.equal(tcp.additional.filter((a) => a.type === 'A').length, 200);
    const targets = new Set(tcp.answer.map((a) => srvOf(a).target));
    assert.equal(targets.size, 200);
    // Without +ignore dig retries over TCP by itself, as resolvers do.
    const retried = await q('+notcp', '+bufsize=1232', 'SRV', name);
    assert.ok(retried.tcpRetried, 'dig saw TC and retried over TCP');
    assert.equal(retried.answer.length, 200);
    assert.ok(fx.server.stats().truncated >= 2);
  });

  it('fits the answer to the EDNS size the client offers, 512 without EDNS, at most 8192', async () => {
    const plain = await q('+notcp', '+ignore', '+noedns', 'SRV', '_mid._tcp.service.cairn');
    assert.ok(plain.flags.includes('tc'));
    const small = plain.answer.length;
    const medium = (await q('+notcp', '+ignore', '+bufsize=1232', 'SRV', '_mid._tcp.service.cairn')).answer.length;
    assert.ok(small > 0 && small < medium, `${small} < ${medium}`);
    // 100 instances fit in 8192 bytes thanks to name compression: no TC, every A record along.
    const big = await q('+notcp', '+ignore', '+bufsize=8192', 'SRV', '_mid._tcp.service.cairn');
    assert.ok(!big.flags.includes('tc'));
    assert.equal(big.answer.length, 100);
    assert.equal(big.additional.filter((a) => a.type === 'A').length, 100);
    // A client offering more than 8192 is held to 8192: 200 instances still need TCP.
    const capped = await q('+notcp', '+ignore', '+bufsize=65000', 'SRV', name);
    assert.ok(capped.flags.includes('tc'));
    assert.equal(capped.ednsUdp, 8192);
  });
});

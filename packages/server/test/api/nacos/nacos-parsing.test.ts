import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { heartbeatOf } from '../../../src/api/nacos/nacos-heartbeat.js';
import { javaDouble } from '../../../src/api/nacos/nacos-json.js';
import { parseNacosMetadata } from '../../../src/api/nacos/nacos-metadata.js';
import { namespaceOf, parseGroupedName, serviceNameOf } from '../../../src/api/nacos/nacos-names.js';
import {
  NacosError,
  NacosParams,
  parseBoolean,
  parseJavaDouble,
  parseJavaInt,
  toBoolean,
} from '../../../src/api/nacos/nacos-params.js';
import { cairnWeightOf, nacosWeightOf } from '../../../src/api/nacos/nacos-weight.js';
import { pushTargetOf } from '../../../src/api/nacos/push-address.js';
import { PushSubscribers } from '../../../src/api/nacos/push-subscribers.js';

const params = (o: Record<string, string>) => NacosParams.of(Object.entries(o));

/** Asserts fn throws Nacos's 400 with exactly this text. */
function refuses(fn: () => unknown, text: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof NacosError);
    assert.equal(err.status, 400);
    assert.equal(err.message, text);
    return true;
  });
}

describe('Nacos parameter reading', () => {
  it('keeps the first value of a parameter (query string before body, as a servlet does)', () => {
    const p = NacosParams.of([
      ['ip', '1.1.1.1'],
      ['ip', '2.2.2.2'],
    ]);
    assert.equal(p.get('ip'), '1.1.1.1');
  });

  it('treats blank as absent for optional and empty as absent for required', () => {
    const p = params({ a: '  ', b: '', c: 'x' });
    assert.equal(p.optional('a', 'dflt'), 'dflt');
    assert.equal(p.optional('zz', 'dflt'), 'dflt');
    assert.equal(p.required('a'), '  ');
    refuses(() => p.required('b'), "Param 'b' is required.");
    refuses(() => p.required('zz'), "Param 'zz' is required.");
    assert.equal(p.firstOf(['b', 'a', 'c']), 'x');
  });

  it('parses numbers and booleans as Java does', () => {
    assert.equal(parseJavaInt('8080'), 8080);
    assert.equal(parseJavaInt('+7'), 7);
    refuses(() => parseJavaInt('80.5'), 'For input string: "80.5"');
    refuses(() => parseJavaInt('99999999999'), 'For input string: "99999999999"');
    assert.equal(parseJavaDouble(' 1.5 '), 1.5);
    assert.equal(parseJavaDouble('2d'), 2);
    assert.equal(parseJavaDouble('.5'), 0.5);
    refuses(() => parseJavaDouble('NaN'), 'For input string: "NaN"');
    refuses(() => parseJavaDouble(''), 'empty String');
    for (const t of ['true', 'TRUE', 'on', 'y', 'T', 'yes']) assert.equal(toBoolean(t), true, t);
    for (const f of ['false', 'no', '1', '', 'true ']) assert.equal(toBoolean(f), false, f);
    assert.equal(parseBoolean('True'), true);
    assert.equal(parseBoolean('yes'), false);
  });
});

describe('Nacos service names', () => {
  it('prefixes a plain name with groupName (DEFAULT_GROUP by default); group@@name ignores groupName', () => {
    assert.deepEqual(serviceNameOf(params({ serviceName: 'orders' })), {
      group: 'DEFAULT_GROUP',
      service: 'orders',
      grouped: 'DEFAULT_GROUP@@orders',
    });
    assert.equal(serviceNameOf(params({ serviceName: ' orders ', groupName: 'G' })).grouped, 'G@@orders');
    assert.equal(serviceNameOf(params({ serviceName: 'A@@orders', groupName: 'G' })).grouped, 'A@@orders');
  });

  it('refuses @@x, g@@, @@ and names cairn cannot store', () => {
    refuses(() => parseGroupedName('@@x'), "Param 'serviceName' is illegal, groupName can't be empty");
    refuses(
      () => parseGroupedName('g@@'),
      "Param 'serviceName' is illegal, it should be format as 'groupName@@serviceName'",
    );
    refuses(
      () => parseGroupedName('@@'),
      "Param 'serviceName' is illegal, it should be format as 'groupName@@serviceName'",
    );
    assert.throws(() => parseGroupedName('g@@a@@b'), NacosError);
    assert.throws(() => parseGroupedName('g@@a b'), NacosError);
  });

  it('reads namespaceId, blank meaning public', () => {
    assert.equal(namespaceOf(params({})), 'public');
    assert.equal(namespaceOf(params({ namespaceId: '' })), 'public');
    assert.equal(namespaceOf(params({ namespaceId: 'dev' })), 'dev');
    assert.throws(() => namespaceOf(params({ namespaceId: '../x' })), NacosError);
  });
});

describe('Nacos metadata', () => {
  it('reads a JSON object (scalars as strings) or k=v pairs', () => {
    assert.deepEqual(parseNacosMetadata(''), {});
    assert.deepEqual(parseNacosMetadata('{"a":"1","b":2,"c":false,"d":null}'), { a: '1', b: '2', c: 'false' });
    assert.deepEqual(parseNacosMetadata('a=1,b=2'), { a: '1', b: '2' });
    assert.deepEqual(parseNacosMetadata('a=1,a=2'), { a: '2' }, 'the last pair wins, as in a HashMap');
  });

  it('refuses what is neither, and what breaks cairn limits', () => {
    refuses(() => parseNacosMetadata('a=1,b'), 'metadata format incorrect:a=1,b');
    refuses(() => parseNacosMetadata('a=b=c'), 'metadata format incorrect:a=b=c');
    refuses(() => parseNacosMetadata('{"a":{"nested":1}}'), 'metadata format incorrect:{"a":{"nested":1}}');
    assert.throws(() => parseNacosMetadata('{"__proto__":"x"}'), NacosError);
    assert.throws(() => parseNacosMetadata(`{"a":"${'v'.repeat(2000)}"}`), NacosError);
  });
});

describe('weights and heartbeats', () => {
  it('maps Nacos weights to cairn weights and back: cairn = round(nacos * 100)', () => {
    for (const [nacos, cairn] of [
      [1, 100],
      [0, 0],
      [0.5, 50],
      [2.25, 225],
      [0.004, 0],
      [100, 10_000],
    ] as const) {
      assert.equal(cairnWeightOf(nacos), cairn);
    }
    for (const cairn of [0, 1, 50, 100, 333, 10_000]) assert.equal(cairnWeightOf(nacosWeightOf(cairn)), cairn);
    refuses(() => cairnWeightOf(-0.1), 'instance format invalid: The weights range from 0.0 to 10000.0');
    assert.throws(() => cairnWeightOf(100.5), /above 100\.0/);
    assert.equal(javaDouble(1), '1.0');
    assert.equal(javaDouble(0.25), '0.25');
  });

  it("uses Nacos's 5 s / 15 s / 30 s unless preserved metadata keys say otherwise", () => {
    assert.deepEqual(heartbeatOf({}), { intervalMs: 5000, unhealthyAfterMs: 15_000, expireAfterMs: 30_000 });
    assert.deepEqual(
      heartbeatOf({
        'preserved.heart.beat.interval': '1000',
        'preserved.heart.beat.timeout': '3000',
        'preserved.ip.delete.timeout': '6000',
      }),
      { intervalMs: 1000, unhealthyAfterMs: 3000, expireAfterMs: 6000 },
    );
    // Not all digits: ignored, as Nacos does.
    assert.equal(heartbeatOf({ 'preserved.heart.beat.interval': '1s' }).intervalMs, 5000);
    // A delete timeout shorter than the heartbeat timeout: unhealthy and removed together.
    assert.deepEqual(heartbeatOf({ 'preserved.ip.delete.timeout': '10000' }), {
      intervalMs: 5000,
      unhealthyAfterMs: 10_000,
      expireAfterMs: 10_000,
    });
    const text = "Instance 'heart beat interval' must less than 'heart beat timeout' and 'ip delete timeout'.";
    refuses(() => heartbeatOf({ 'preserved.heart.beat.interval': '20000' }), text);
    refuses(() => heartbeatOf({ 'preserved.heart.beat.timeout': '1000' }), text);
    assert.throws(
      () => heartbeatOf({ 'preserved.heart.beat.interval': '10', 'preserved.heart.beat.timeout': '20' }),
      /out of range/,
    );
  });
});

describe('push targets and subscribers', () => {
  it('pushes only to the address a poll came from, or to local addresses for a local poll', () => {
    assert.equal(pushTargetOf('', '10.0.0.5'), '10.0.0.5');
    assert.equal(pushTargetOf('10.0.0.5', '::ffff:10.0.0.5'), '10.0.0.5');
    assert.equal(pushTargetOf('10.0.0.6', '10.0.0.5'), null);
    assert.equal(pushTargetOf('127.0.0.1', '127.0.0.1'), '127.0.0.1');
    assert.equal(pushTargetOf('127.0.0.2', '::1'), '127.0.0.2');
    assert.equal(pushTargetOf('192.0.2.1', '127.0.0.1'), null);
    assert.equal(pushTargetOf('fe80::1', 'fe80::1'), null, 'IPv4 only');
  });

  it('bounds the subscribers and expires the ones that stop polling', () => {
    const subs = new PushSubscribers({ ttlMs: 100, max: 2 });
    const name = { group: 'G', service: 's', grouped: 'G@@s' };
    const sub = (port: number) => ({ namespace: 'public', name, clusters: '', ip: '127.0.0.1', port, agent: '' });
    assert.equal(subs.touch(sub(1), 0), true);
    assert.equal(subs.touch(sub(2), 0), true);
    assert.equal(subs.touch(sub(3), 0), false, 'full');
    assert.equal(subs.touch(sub(1), 80), true, 'a known one refreshes');
    assert.deepEqual(subs.services, new Set(['public/G/s']));
    assert.deepEqual(
      subs.expire(150).map((s) => s.port),
      [2],
    );
    assert.equal(subs.size, 1);
    assert.deepEqual(
      subs.expire(300).map((s) => s.port),
      [1],
    );
    assert.equal(subs.services.size, 0);
  });
});

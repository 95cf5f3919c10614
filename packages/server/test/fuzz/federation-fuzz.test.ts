// Property: the federation's surfaces over a StaticView (its HTTP routes: health, Nacos reads and the
// refused Nacos writes, the admin UI; its watch WebSocket; its DNS server over UDP and TCP) answer
// hostile input well-formed, never crash, never change the view, and keep answering.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import websocket from '@fastify/websocket';
import dnsPacket from 'dns-packet';
import fc from 'fast-check';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { installErrorHandler } from '../../src/api/error-handler.js';
import { applyConnectionLimits, edgeServerOptions } from '../../src/api/limits/connection-limits.js';
import { DEFAULT_SERVER_LIMITS } from '../../src/api/limits/server-limits.js';
import { createUpgradeGuardPlugin } from '../../src/api/limits/upgrade-guard.js';
import { type DnsServer, startDnsServer } from '../../src/federation/dns/dns-server.js';
import { FEDERATION_PLUGINS } from '../../src/federation/federation-plugins.js';
import { federationHealthRoutes } from '../../src/federation/rest/health-routes.js';
import { watchServerMessageSchema } from '../../src/protocol/index.js';
import { StaticView } from '../helpers/static-view.js';
import { brokenJsonText, hostileNumberText, keyArb, nameValueArb, pathSegmentArb } from './fuzz-arbitraries.js';
import {
  assertWellFormed,
  CrashGuard,
  describeRequest,
  fuzzParams,
  type RawRequest,
  rawRequest,
  testTimeoutMs,
} from './fuzz-kit.js';
import { checkWatchSequence, watchSequence } from './socket-kit.js';

const QUERY_KEYS = [
  'serviceName',
  'groupName',
  'namespaceId',
  'clusters',
  'healthyOnly',
  'ip',
  'port',
  'pageNo',
  'pageSize',
  'namespace',
  'group',
  'service',
  'zone',
  'show',
  'udpPort',
  'username',
  'password',
];

interface Route {
  readonly method: string;
  readonly url: string;
}

function routeRequest(routes: readonly Route[]): fc.Arbitrary<RawRequest> {
  return fc
    .record({
      route: fc.constantFrom(...routes),
      otherMethod: fc.oneof(
        { weight: 5, arbitrary: fc.constant(null) },
        { weight: 1, arbitrary: fc.constantFrom('POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS') },
      ),
      segments: fc.array(pathSegmentArb(['public', 'DEFAULT_GROUP', 'orders', 'az1']), { minLength: 4, maxLength: 4 }),
      query: fc.array(
        fc.tuple(
          keyArb(QUERY_KEYS),
          fc.oneof(nameValueArb(['orders', 'DEFAULT_GROUP@@orders', 'public', '', 'az1']), hostileNumberText),
        ),
        { maxLength: 6 },
      ),
      body: fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: brokenJsonText }),
    })
    .map(({ route, otherMethod, segments, query, body }) => {
      let i = 0;
      const path = route.url.replace(/:\w+|\*/g, () => segments[i++] as string);
      const qs = query.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
      return {
        method: otherMethod ?? route.method,
        path: qs === '' ? path : `${path}?${qs}`,
        ...(body !== undefined
          ? { body, headers: [['Content-Type', 'application/x-www-form-urlencoded'] as const] }
          : {}),
      };
    });
}

describe('federation fuzz (StaticView, real sockets)', () => {
  let view: StaticView;
  let app: FastifyInstance;
  let port = 0;
  let guard: CrashGuard;
  const routes: Route[] = [];

  before(async () => {
    guard = new CrashGuard();
    view = new StaticView({ zones: ['az1', 'az2'] });
    view.batch(() => {
      view.putService({ service: 'orders', protectThreshold: 0.5, metadata: { owner: 'fz' } });
      for (let i = 1; i <= 3; i++) view.putInstance({ zone: 'az1', service: 'orders', ip: `10.7.0.${i}`, port: 8080 });
      view.putInstance({ zone: 'az2', service: 'orders', ip: '10.8.0.1', port: 8080, metadata: { version: 'v2' } });
      view.putInstance({ zone: 'az2', service: 'host-only', ip: 'svc.example', port: 9000 });
    });
    app = Fastify({ logger: false, ...edgeServerOptions(DEFAULT_SERVER_LIMITS) });
    applyConnectionLimits(app.server, DEFAULT_SERVER_LIMITS);
    installErrorHandler(app);
    app.addHook('onRoute', (r) => {
      for (const method of Array.isArray(r.method) ? r.method : [r.method]) {
        if (method !== 'HEAD') routes.push({ method, url: r.url });
      }
    });
    await app.register(createUpgradeGuardPlugin());
    await app.register(websocket);
    await app.register(federationHealthRoutes, { view });
    const logger = pino({ level: 'silent' });
    for (const plugin of FEDERATION_PLUGINS)
      await app.register(async (scope) => plugin(scope, { view, nodeId: 'fz', logger }));
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address();
    port = typeof addr === 'object' && addr ? addr.port : 0;
  });

  after(async () => {
    await app?.close();
    guard?.dispose();
  });

  const HTTP_RUNS = 80;
  it(
    'every HTTP route answers 2xx or a 4xx in its format; the view is never changed',
    { timeout: testTimeoutMs(HTTP_RUNS) },
    async () => {
      assert.ok(routes.length >= 8, `only ${routes.length} routes found`);
      const revision = view.revision;
      await fc.assert(
        fc.asyncProperty(routeRequest(routes), async (req) => {
          const what = describeRequest(req);
          const answer = await rawRequest(port, req);
          assertWellFormed(answer, req.path.startsWith('/nacos/') ? 'nacos' : 'cairn', what, {
            head: req.method === 'HEAD',
          });
          assert.equal(view.revision, revision, `${what}: the view changed`);
          guard.check();
        }),
        fuzzParams(HTTP_RUNS),
      );
      const health = await rawRequest(port, { method: 'GET', path: '/healthz' });
      assert.equal(health?.status, 200);
    },
  );

  const WATCH_RUNS = 25;
  it('watch: hostile frames are answered in the protocol', { timeout: testTimeoutMs(WATCH_RUNS, 500) }, async () => {
    await fc.assert(
      fc.asyncProperty(watchSequence, async (seq) => {
        await checkWatchSequence(`ws://127.0.0.1:${port}/v1/watch`, watchServerMessageSchema, seq, {
          extraTypes: ['zones'],
        });
        guard.check();
      }),
      fuzzParams(WATCH_RUNS),
    );
  });

  describe('DNS', () => {
    let dns: DnsServer;

    before(async () => {
      dns = await startDnsServer({ view, listen: '127.0.0.1:0', logger: pino({ level: 'silent' }) });
    });

    after(async () => {
      await dns?.close();
    });

    /** Asks for the SRV records of orders over UDP; resolves the decoded answer. */
    async function askUdp(payload: Buffer, timeoutMs = 3000): Promise<dnsPacket.Packet | null> {
      const sock = createSocket('udp4');
      try {
        return await new Promise((resolve) => {
          const timer = setTimeout(() => resolve(null), timeoutMs);
          sock.on('message', (m) => {
            clearTimeout(timer);
            try {
              resolve(dnsPacket.decode(m));
            } catch {
              resolve({ id: -1 } as dnsPacket.Packet);
            }
          });
          sock.send(payload, dns.port, '127.0.0.1');
        });
      } finally {
        sock.close();
      }
    }

    const validQuery = (id: number): Buffer =>
      dnsPacket.encode({
        type: 'query',
        id,
        flags: dnsPacket.RECURSION_DESIRED,
        questions: [{ type: 'SRV', name: '_orders._tcp.service.cairn' }],
      });

    const labelArb = fc.oneof(
      fc.constantFrom(
        '_orders',
        '_tcp',
        'service',
        'cairn',
        'az1',
        'addr',
        '10-7-0-1',
        'ORDERS',
        '*',
        '',
        '-',
        'x'.repeat(63),
        'x'.repeat(64),
      ),
      fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/),
    );

    /** Queries a resolver might send, and ones it would not: odd names, types, classes, flags, EDNS. */
    const queryArb = fc
      .record({
        id: fc.nat(65_535),
        labels: fc.array(labelArb, { minLength: 0, maxLength: 8 }),
        type: fc.constantFrom('A', 'AAAA', 'SRV', 'ANY', 'TXT', 'PTR', 'CNAME', 'MX', 'NS', 'SOA', 'OPT', 'AXFR'),
        klass: fc.constantFrom('IN', 'CH', 'HS', 'ANY'),
        questions: fc.integer({ min: 0, max: 3 }),
        edns: fc.option(fc.integer({ min: 0, max: 65_535 })),
        flags: fc.nat(0xffff),
      })
      .map(({ id, labels, type, klass, questions, edns, flags }) => {
        const name = labels.join('.');
        try {
          return dnsPacket.encode({
            type: 'query',
            id,
            flags,
            questions: Array.from({ length: questions }, () => ({ type, class: klass, name }) as dnsPacket.Question),
            ...(edns !== null
              ? { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: edns } as dnsPacket.Answer] }
              : {}),
          });
        } catch {
          return Buffer.from(name);
        }
      });

    /** A valid query cut, flipped or padded; or bytes at random (compression loops included by chance). */
    const datagramArb = fc.oneof(
      { weight: 4, arbitrary: queryArb },
      {
        weight: 3,
        arbitrary: fc
          .tuple(queryArb, fc.nat(511), fc.nat(255), fc.integer({ min: 0, max: 40 }))
          .map(([q, at, byte, cut]) => {
            const b = Buffer.from(q);
            if (b.length > 0) b[at % b.length] = byte;
            return cut > 30 ? b.subarray(0, Math.max(1, b.length - cut)) : b;
          }),
      },
      { weight: 1, arbitrary: fc.constant(Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 33, 0, 1])) },
      { weight: 2, arbitrary: fc.uint8Array({ minLength: 0, maxLength: 600 }).map((b) => Buffer.from(b)) },
    );

    const DNS_RUNS = 80;
    it(
      'UDP: any datagram leaves the server answering valid queries',
      { timeout: testTimeoutMs(DNS_RUNS, 300) },
      async () => {
        await fc.assert(
          fc.asyncProperty(datagramArb, async (datagram) => {
            await askUdp(datagram, 200);
            const answer = await askUdp(validQuery(4242));
            assert.ok(
              answer && answer.id === 4242,
              `after ${datagram.toString('hex').slice(0, 200)} a valid query went unanswered`,
            );
            assert.equal(answer.answers?.length ?? 0, 4, 'the SRV answer changed');
            guard.check();
          }),
          fuzzParams(DNS_RUNS),
        );
      },
    );

    const TCP_RUNS = 30;
    it(
      'TCP: any framed bytes leave the server answering valid queries',
      { timeout: testTimeoutMs(TCP_RUNS, 500) },
      async () => {
        await fc.assert(
          fc.asyncProperty(datagramArb, fc.integer({ min: -4, max: 4 }), async (payload, lengthSkew) => {
            // A length prefix that matches the payload, or lies about it by a few bytes.
            const framed = Buffer.alloc(2 + payload.length);
            framed.writeUInt16BE(Math.max(0, Math.min(65_535, payload.length + lengthSkew)), 0);
            payload.copy(framed, 2);
            await new Promise<void>((resolve) => {
              const sock = connect({ host: '127.0.0.1', port: dns.port });
              sock.on('error', () => resolve());
              sock.on('close', () => resolve());
              sock.on('connect', () => sock.write(framed));
              sock.on('data', () => {});
              setTimeout(() => sock.destroy(), 150);
            });
            const answer = await askUdp(validQuery(4343));
            assert.ok(answer && answer.id === 4343, 'a valid query went unanswered after TCP garbage');
            guard.check();
          }),
          fuzzParams(TCP_RUNS),
        );
      },
    );
  });
});

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type Dispatcher, request } from 'undici';
import { CairnError } from '../../errors.js';
import type { ZoneEndpoints } from '../config/zone-endpoints.js';
import type { MergedView } from '../view/merged-view.js';
import type { ZoneClient } from '../zones/zone-client.js';
import { FEDERATION_REST_LIMITS, zoneParams, zoneServiceParams } from './rest-schemas.js';

export interface ZoneRoutesOptions {
  readonly view: MergedView;
  readonly zones: readonly ZoneEndpoints[];
  /** How the federation reaches zones: its dispatcher (zone CA) and zone token (closed by the server). */
  readonly client: ZoneClient;
}

/** Request headers passed on to the zone (Authorization so the zone decides who may act). */
const FORWARDED_REQUEST_HEADERS = ['authorization', 'content-type', 'accept', 'x-request-id'] as const;
/** Answer headers relayed back. */
const RELAYED_ANSWER_HEADERS = ['content-type', 'x-cairn-revision', 'www-authenticate', 'retry-after'] as const;
/** Failures that prove the request never reached the replica: safe to try the next one. */
const NOT_SENT = new Set([
  'ECONNREFUSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/**
 * Zone administration through the federation: each zone's cluster status (every replica asked, with
 * the federation's zone token), and zone actions forwarded to the owning zone's registry — any live
 * replica, preferring the one the federation watches; the zone forwards writes to its leader. For
 * actions the caller's Authorization header is passed through (the zone decides who may act: the
 * federation's own auth lets them through) and the zone's answer relayed as is.
 */
export async function zoneRoutes(app: FastifyInstance, opts: ZoneRoutesOptions): Promise<void> {
  const { view, client } = opts;
  const endpoints = new Map(opts.zones.map((z) => [z.zone, z]));

  const zoneOf = (zone: string): ZoneEndpoints => {
    const z = endpoints.get(zone);
    if (!z)
      throw new CairnError(
        'NOT_FOUND',
        `no zone '${zone}' in this federation (known: ${[...endpoints.keys()].join(', ')})`,
      );
    return z;
  };

  app.get('/v1/zones/:zone/cluster', async (req, reply) => {
    const { zone } = zoneParams.parse(req.params);
    const z = zoneOf(zone);
    const watched = view.zone(zone)?.replica ?? null;
    const replicas = await Promise.all(z.replicas.map((url) => clusterOf(url, req, client)));
    const up = replicas.filter((r) => r.cluster !== null);
    const chosen =
      up.find((r) => (r.cluster as { role?: unknown }).role === 'leader') ?? up.find((r) => r.url === watched) ?? up[0];
    if (!chosen) {
      return reply.status(503).send({
        code: 'UNAVAILABLE',
        message: `no replica of zone '${zone}' answers`,
        replicas,
      });
    }
    return { ...(chosen.cluster as object), replicas };
  });

  // Forwarded requests keep their body as bytes: the zone parses (and refuses) it, not us.
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: FEDERATION_REST_LIMITS.forwardBodyBytesMax },
      (_req, body, done) => done(null, body),
    );
    const forwardTo =
      (zonePath: (params: Record<string, string>) => string) =>
      async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
        const { zone } = zoneParams.parse(req.params);
        const z = zoneOf(zone);
        return forward(req, reply, z, zonePath(req.params as Record<string, string>), view, client.dispatcher());
      };
    scope.patch(
      '/v1/zones/:zone/instances',
      forwardTo(() => '/v1/instances'),
    );
    scope.delete(
      '/v1/zones/:zone/instances',
      forwardTo(() => '/v1/instances'),
    );
    scope.patch(
      '/v1/zones/:zone/services/:namespace/:group/:service',
      forwardTo((p) => {
        const s = zoneServiceParams.parse(p);
        return `/v1/services/${s.namespace}/${s.group}/${s.service}`;
      }),
    );
    scope.put(
      '/v1/zones/:zone/weight',
      forwardTo((p) => `/v1/zones/${zoneParams.parse(p).zone}/weight`),
    );
  });
}

interface ReplicaCluster {
  readonly url: string;
  readonly up: boolean;
  readonly cluster: unknown;
}

/** One replica's `/v1/cluster`, read with the zone token (else, without one, the caller's credentials). */
async function clusterOf(url: string, req: FastifyRequest, client: ZoneClient): Promise<ReplicaCluster> {
  try {
    const auth = req.headers.authorization;
    const res = await request(`${url}/v1/cluster`, {
      dispatcher: client.dispatcher(),
      headers: client.hasToken ? client.authHeaders() : auth ? { authorization: auth } : {},
      signal: AbortSignal.timeout(FEDERATION_REST_LIMITS.clusterProbeTimeoutMs),
    });
    const body = (await res.body.json()) as unknown;
    return { url, up: true, cluster: res.statusCode === 200 ? body : null };
  } catch {
    return { url, up: false, cluster: null };
  }
}

async function forward(
  req: FastifyRequest,
  reply: FastifyReply,
  z: ZoneEndpoints,
  path: string,
  view: MergedView,
  dispatcher: Dispatcher,
): Promise<FastifyReply> {
  const status = view.zone(z.zone);
  const watched = status?.state === 'live' ? status.replica : null;
  const order = watched ? [watched, ...z.replicas.filter((r) => r !== watched)] : [...z.replicas];
  const q = req.url.indexOf('?');
  const query = q >= 0 ? req.url.slice(q) : '';
  const headers: Record<string, string> = {};
  for (const h of FORWARDED_REQUEST_HEADERS) {
    const v = req.headers[h];
    if (typeof v === 'string') headers[h] = v;
  }
  const body = Buffer.isBuffer(req.body) && req.body.length > 0 ? req.body : undefined;
  let lastError = '';
  for (const url of order) {
    let res: Dispatcher.ResponseData;
    try {
      res = await request(`${url}${path}${query}`, {
        dispatcher,
        method: req.method as Dispatcher.HttpMethod,
        headers,
        ...(body ? { body } : {}),
        headersTimeout: FEDERATION_REST_LIMITS.forwardTimeoutMs,
        bodyTimeout: FEDERATION_REST_LIMITS.forwardTimeoutMs,
      });
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      if (NOT_SENT.has(code)) {
        lastError = `${url}: ${code}`;
        continue;
      }
      // It may have reached the zone: do not send a write twice.
      throw new CairnError(
        code.includes('TIMEOUT') ? 'TIMEOUT' : 'UNAVAILABLE',
        `zone '${z.zone}' did not answer (${url}: ${code || (err as Error).message}); the action may or may not have been applied`,
      );
    }
    const answer = Buffer.from(await res.body.arrayBuffer());
    for (const h of RELAYED_ANSWER_HEADERS) {
      const v = res.headers[h];
      if (typeof v === 'string') reply.header(h, v);
    }
    return reply.status(res.statusCode).send(answer);
  }
  throw new CairnError('UNAVAILABLE', `no replica of zone '${z.zone}' answers (${lastError})`);
}

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { CairnError } from '../../errors.js';
import type { RegisterSpec } from '../../registry/commands.js';
import {
  DEFAULT_CLUSTER,
  type Instance,
  type InstanceKey,
  instanceIdOf,
  ipSchema,
  leaseIdOf,
  type Metadata,
} from '../../registry/model.js';
import { ensureNamespace } from './implicit-namespace.js';
import { instanceListJson } from './instance-list.js';
import { type NacosContext, sendJson, sendText } from './nacos-context.js';
import { heartbeatOf, PRESERVED_KEYS } from './nacos-heartbeat.js';
import {
  clusterOf,
  instanceInputOf,
  instanceKeyOf,
  type NacosInstanceInput,
  portOf,
  registerSpecOf,
} from './nacos-instance-spec.js';
import { instanceDetailJson } from './nacos-json.js';
import { checkedMetadata, parseNacosMetadata, stringMapOf } from './nacos-metadata.js';
import { namespaceOf, serviceNameOf } from './nacos-names.js';
import {
  badRequest,
  NacosError,
  NacosParams,
  parseBoolean,
  parseJavaDouble,
  parseJavaInt,
  toBoolean,
} from './nacos-params.js';
import { cairnWeightOf } from './nacos-weight.js';
import { pushTargetOf } from './push-address.js';

const BASE = '/nacos/v1/ns/instance';

/** Nacos's beat answer codes (NamingResponseCode). */
const BEAT_OK = 10_200;
const BEAT_RESOURCE_NOT_FOUND = 20_404;

/** Instance register / deregister / modify / patch / detail / list / beat, as Nacos's InstanceController. */
export async function instanceRoutes(app: FastifyInstance, ctx: NacosContext): Promise<void> {
  const { registry } = ctx;

  app.post(BASE, async (req, reply) => {
    const p = NacosParams.fromRequest(req);
    const namespace = namespaceOf(p);
    const name = serviceNameOf(p);
    const input = instanceInputOf(p, namespace, name);
    await ctx.authorize(req, { resource: 'instance', action: 'write', namespace });
    await register(ctx, input);
    return sendText(reply, 'ok');
  });

  // Nacos 2.x answers `ok` for an instance or service it does not know, too.
  app.delete(BASE, async (req, reply) => {
    const p = NacosParams.fromRequest(req);
    const namespace = namespaceOf(p);
    const key = instanceKeyOf(p, namespace, serviceNameOf(p));
    await ctx.authorize(req, { resource: 'instance', action: 'write', namespace });
    try {
      await registry.execute({ op: 'deregister', key });
    } catch (err) {
      if (!(err instanceof CairnError && err.code === 'NOT_FOUND')) throw err;
    }
    return sendText(reply, 'ok');
  });

  // PUT replaces weight, enabled and metadata (each back to its default when omitted), as in Nacos.
  app.put(BASE, async (req, reply) => {
    const p = NacosParams.fromRequest(req);
    const namespace = namespaceOf(p);
    const input = instanceInputOf(p, namespace, serviceNameOf(p));
    await ctx.authorize(req, { resource: 'instance', action: 'write', namespace });
    await modify(ctx, input.key, { weight: input.weight, enabled: input.enabled, metadata: input.metadata });
    return sendText(reply, 'ok');
  });

  // PATCH changes only what it names.
  app.patch(BASE, async (req, reply) => {
    const p = NacosParams.fromRequest(req);
    const namespace = namespaceOf(p);
    const key = instanceKeyOf(p, namespace, serviceNameOf(p));
    const weight = p.optional('weight', '');
    const enabled = p.firstOf(['enabled', 'enable']);
    const metadata = p.optional('metadata', '');
    await ctx.authorize(req, { resource: 'instance', action: 'write', namespace });
    await modify(ctx, key, {
      ...(weight !== '' ? { weight: cairnWeightOf(parseJavaDouble(weight)) } : {}),
      ...(enabled !== undefined ? { enabled: toBoolean(enabled) } : {}),
      ...(metadata !== '' ? { metadata: parseNacosMetadata(metadata) } : {}),
    });
    return sendText(reply, 'ok');
  });

  app.get(BASE, async (req, reply) => {
    const p = NacosParams.fromRequest(req);
    const namespace = namespaceOf(p);
    const name = serviceNameOf(p);
    const key = instanceKeyOf(p, namespace, name);
    await ctx.authorize(req, { resource: 'instance', action: 'read', namespace });
    const state = registry.state;
    if (!state.service(key)) throw new NacosError(404, `no service ${name.grouped} found!`);
    if (!state.instancesOf(key).some((i) => i.cluster === key.cluster)) {
      throw new NacosError(404, `no ips found for cluster ${key.cluster} in service ${name.grouped}`);
    }
    const inst = state.instance(key);
    if (!inst) throw new NacosError(404, 'no matched ip found!');
    return sendJson(reply, instanceDetailJson(inst));
  });

  app.get(`${BASE}/list`, async (req, reply) => {
    const p = NacosParams.fromRequest(req);
    const namespace = namespaceOf(p);
    const name = serviceNameOf(p);
    const clusters = p.optional('clusters', '');
    const udpPort = parseJavaInt(p.optional('udpPort', '0'));
    const healthyOnly = parseBoolean(p.optional('healthyOnly', 'false'));
    await ctx.authorize(req, { resource: 'instance', action: 'read', namespace });
    if (udpPort > 0 && udpPort <= 65_535) {
      const ip = pushTargetOf(p.optional('clientIP', ''), req.ip);
      if (ip) ctx.pusher.subscribe({ namespace, name, clusters, ip, port: udpPort, agent: agentOf(req) });
    }
    const q = { namespace, name, clusters, healthyOnly, cacheMillis: ctx.cacheMillis };
    return sendJson(reply, instanceListJson(registry.state, q, Date.now()));
  });

  app.put(`${BASE}/beat`, async (req, reply) => {
    const p = NacosParams.fromRequest(req);
    const beatRaw = p.optional('beat', '');
    const beat = beatRaw === '' ? null : parseBeat(beatRaw);
    let cluster = p.optional('clusterName', DEFAULT_CLUSTER);
    let ip = p.optional('ip', '');
    let port = parseJavaInt(p.optional('port', '0'));
    if (beat) {
      if (beat.cluster && beat.cluster.trim() !== '') cluster = beat.cluster;
      ip = beat.ip;
      port = beat.port;
    }
    const namespace = namespaceOf(p);
    const name = serviceNameOf(p);
    await ctx.authorize(req, { resource: 'instance', action: 'write', namespace });
    const key: InstanceKey = {
      namespace,
      group: name.group,
      service: name.service,
      cluster: clusterOf(cluster),
      ip,
      port,
    };
    let inst = registry.state.instance(key);
    if (!inst) {
      if (!beat)
        return sendJson(reply, `{"clientBeatInterval":${ctx.clientBeatIntervalMs},"code":${BEAT_RESOURCE_NOT_FOUND}}`);
      // The instance was removed (its beats stopped for too long, or the registry lost it): the
      // client still beats, so it is alive; register it again from what the beat carries.
      const input = beatInstanceInput(key, beat);
      await ctx.admitWrite(req, reply);
      inst = await register(ctx, input);
    }
    registry.renew([leaseIdOf(inst)], []);
    return sendJson(
      reply,
      `{"clientBeatInterval":${inst.heartbeat.intervalMs},"code":${BEAT_OK},"lightBeatEnabled":true}`,
    );
  });
}

/** Registers (idempotently) and starts the lease afresh, as a Nacos registration resets lastBeat. */
async function register(ctx: NacosContext, input: NacosInstanceInput): Promise<Instance> {
  const spec = registerSpecOf(input, ctx.config.zone);
  ctx.quota.admit({ op: 'register', instance: spec }, { createsNamespace: true });
  await ensureNamespace(ctx.registry, input.key.namespace);
  const { result } = await ctx.registry.execute({ op: 'register', instance: spec });
  const inst = result.instance;
  if (!inst) throw new CairnError('INTERNAL', 'register applied without an instance');
  if (inst.lease?.kind === 'instance') ctx.registry.renew([leaseIdOf(inst)], []);
  return inst;
}

interface InstanceChanges {
  readonly weight?: number;
  readonly enabled?: boolean;
  readonly metadata?: Metadata;
}

/**
 * Nacos refuses to modify an instance of an unknown service, or one it does not hold (400). When the
 * `preserved.*` heartbeat keys change, the instance is registered again with its new heartbeat
 * settings (everything else kept); otherwise a plain update.
 */
async function modify(ctx: NacosContext, key: InstanceKey, changes: InstanceChanges): Promise<void> {
  const state = ctx.registry.state;
  const grouped = `${key.group}@@${key.service}`;
  if (!state.service(key)) throw badRequest(`service not found, namespace: ${key.namespace}, service: ${grouped}`);
  const cur = state.instance(key);
  if (!cur) throw badRequest(`instance not exist: ${instanceIdOf(key)}`);
  const metadata = changes.metadata ?? cur.metadata;
  const heartbeat = heartbeatChanged(cur, metadata);
  if (heartbeat) {
    const spec: RegisterSpec = {
      ...keyOf(cur),
      weight: changes.weight ?? cur.weight,
      healthy: cur.healthy,
      enabled: changes.enabled ?? cur.enabled,
      ephemeral: cur.ephemeral,
      zone: cur.zone,
      metadata,
      heartbeat,
      lease: cur.lease,
      check: cur.check,
    };
    ctx.quota.admit({ op: 'register', instance: spec });
    await ctx.registry.execute({ op: 'register', instance: spec });
    return;
  }
  ctx.quota.admit({ op: 'update', key, patch: changes });
  await ctx.registry.execute({ op: 'update', key, patch: changes });
}

/**
 * The new heartbeat settings when the metadata changes them, else null. Instances whose metadata
 * never carried `preserved.*` keys (registered natively, say) keep their own settings.
 */
function heartbeatChanged(cur: Instance, metadata: Metadata): Instance['heartbeat'] | null {
  const keys = Object.values(PRESERVED_KEYS);
  const involved = keys.some((k) => Object.hasOwn(metadata, k) || Object.hasOwn(cur.metadata, k));
  if (!involved) return null;
  const next = heartbeatOf(metadata);
  const same =
    next.intervalMs === cur.heartbeat.intervalMs &&
    next.unhealthyAfterMs === cur.heartbeat.unhealthyAfterMs &&
    next.expireAfterMs === cur.heartbeat.expireAfterMs;
  return same ? null : next;
}

function keyOf(i: InstanceKey): InstanceKey {
  return { namespace: i.namespace, group: i.group, service: i.service, cluster: i.cluster, ip: i.ip, port: i.port };
}

/** The beat JSON (Nacos's RsInfo / the client's BeatInfo); unknown keys are ignored. */
const beatSchema = z.object({
  ip: z.string().min(1),
  port: z.union([
    z.number().int(),
    z
      .string()
      .regex(/^\d{1,5}$/)
      .transform(Number),
  ]),
  cluster: z.string().nullish(),
  serviceName: z.string().nullish(),
  weight: z.number().nullish(),
  metadata: z.unknown().optional(),
  ephemeral: z.boolean().nullish(),
});
type Beat = z.infer<typeof beatSchema>;

function parseBeat(raw: string): Beat {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw badRequest(`Param 'beat' is not valid JSON: ${raw.slice(0, 200)}`);
  }
  const r = beatSchema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0];
    throw badRequest(`Param 'beat' is illegal: ${i ? `${i.path.join('.') || 'beat'} ${i.message}` : 'invalid'}`);
  }
  return r.data;
}

/**
 * A registration rebuilt from a beat: healthy and enabled, ephemeral unless the beat says otherwise,
 * its weight (1.0 when the beat has none: Nacos would take 0.0, which silently drains the instance)
 * and metadata (and so its preserved heartbeat settings).
 */
function beatInstanceInput(key: InstanceKey, beat: Beat): NacosInstanceInput {
  if (!ipSchema.safeParse(key.ip).success) throw badRequest(`invalid instance ip: ${key.ip}`);
  portOf(String(key.port));
  const metadata = beat.metadata === undefined || beat.metadata === null ? {} : stringMapOf(beat.metadata);
  if (metadata === null) throw badRequest("Param 'beat' is illegal: metadata must be an object of strings");
  return {
    key,
    weight: cairnWeightOf(beat.weight ?? 1),
    healthy: true,
    enabled: true,
    ephemeral: beat.ephemeral ?? true,
    metadata: checkedMetadata(metadata, "Param 'beat' is illegal: bad metadata"),
  };
}

/** The client's agent, as Nacos reads it: Client-Version, else User-Agent. */
function agentOf(req: FastifyRequest): string {
  const v = req.headers['client-version'] ?? req.headers['user-agent'] ?? '';
  return (Array.isArray(v) ? v[0] : v)?.slice(0, 256) ?? '';
}

import type { FastifyInstance } from 'fastify';
import { CairnError } from '../../errors.js';
import type { Metadata, ServiceKey } from '../../registry/model.js';
import { ensureNamespace } from './implicit-namespace.js';
import { type NacosContext, sendJson, sendText } from './nacos-context.js';
import { javaDouble } from './nacos-json.js';
import { parseNacosMetadata } from './nacos-metadata.js';
import { GROUP_SEPARATOR, namespaceOf, serviceNameOf } from './nacos-names.js';
import { badRequest, NacosParams, parseJavaDouble, parseJavaInt } from './nacos-params.js';

const BASE = '/nacos/v1/ns/service';

/** Service create / delete / update / detail / list, as Nacos's ServiceController. */
export async function serviceRoutes(app: FastifyInstance, ctx: NacosContext): Promise<void> {
  const { registry } = ctx;

  app.post(BASE, async (req, reply) => {
    const p = NacosParams.fromRequest(req);
    const key = serviceKeyOf(p);
    const protectThreshold = thresholdOf(p.optional('protectThreshold', '0'));
    const metadata = parseNacosMetadata(p.optional('metadata', ''));
    checkSelector(p.optional('selector', ''));
    await ctx.authorize(req, { resource: 'service', action: 'write', namespace: key.namespace });
    if (registry.state.service(key)) {
      throw badRequest(`specified service already exists, serviceName : ${grouped(key)}`);
    }
    ctx.quota.admit({ op: 'service.put', service: { ...key, protectThreshold, metadata } }, { createsNamespace: true });
    await ensureNamespace(registry, key.namespace);
    await registry.execute({ op: 'service.put', service: { ...key, protectThreshold, metadata } });
    return sendText(reply, 'ok');
  });

  app.delete(BASE, async (req, reply) => {
    const p = NacosParams.fromRequest(req);
    const key = serviceKeyOf(p);
    await ctx.authorize(req, { resource: 'service', action: 'write', namespace: key.namespace });
    try {
      await registry.execute({ op: 'service.delete', key });
    } catch (err) {
      if (err instanceof CairnError && err.code === 'NOT_FOUND') {
        throw badRequest(`specified service not exist, serviceName : ${grouped(key)}`);
      }
      if (err instanceof CairnError && err.code === 'CONFLICT') {
        throw badRequest(`Service ${grouped(key)} is not empty, can't be delete. Please unregister instance first`);
      }
      throw err;
    }
    return sendText(reply, 'ok');
  });

  // PUT replaces the threshold (required, as in Nacos's code) and the metadata (empty when omitted).
  app.put(BASE, async (req, reply) => {
    const p = NacosParams.fromRequest(req);
    const key = serviceKeyOf(p);
    const protectThreshold = thresholdOf(p.required('protectThreshold'));
    const metadata: Metadata = parseNacosMetadata(p.optional('metadata', ''));
    checkSelector(p.optional('selector', ''));
    await ctx.authorize(req, { resource: 'service', action: 'write', namespace: key.namespace });
    if (!registry.state.service(key)) throw badRequest(`service ${grouped(key)} not found!`);
    ctx.quota.admit({ op: 'service.put', service: { ...key, protectThreshold, metadata } });
    await registry.execute({ op: 'service.put', service: { ...key, protectThreshold, metadata } });
    return sendText(reply, 'ok');
  });

  app.get(BASE, async (req, reply) => {
    const p = NacosParams.fromRequest(req);
    const key = serviceKeyOf(p);
    await ctx.authorize(req, { resource: 'service', action: 'read', namespace: key.namespace });
    const svc = registry.state.service(key);
    if (!svc) throw badRequest(`service not found, namespace: ${key.namespace}, serviceName: ${grouped(key)}`);
    const clusters = [...new Set(registry.state.instancesOf(key).map((i) => i.cluster))].sort();
    const clustersJson = clusters
      .map((c) => `{"name":${JSON.stringify(c)},"healthChecker":{"type":"TCP"},"metadata":{}}`)
      .join(',');
    return sendJson(
      reply,
      `{"namespaceId":${JSON.stringify(key.namespace)},"groupName":${JSON.stringify(key.group)},` +
        `"name":${JSON.stringify(key.service)},"protectThreshold":${javaDouble(svc.protectThreshold)},` +
        `"metadata":${JSON.stringify(svc.metadata)},"selector":{"type":"none"},"clusters":[${clustersJson}]}`,
    );
  });

  // Names only (group prefix removed), one page; `count` is the total in the group.
  app.get(`${BASE}/list`, async (req, reply) => {
    const p = NacosParams.fromRequest(req);
    const pageNo = lenientInt(p.required('pageNo'));
    const pageSize = lenientInt(p.required('pageSize'));
    const namespace = namespaceOf(p);
    const group = p.optional('groupName', 'DEFAULT_GROUP');
    await ctx.authorize(req, { resource: 'service', action: 'read', namespace });
    const names = registry.state.listServices({ namespace, group }).map((s) => s.service);
    const start = Math.max(0, (pageNo - 1) * pageSize);
    const page = start >= names.length || pageSize <= 0 ? [] : names.slice(start, start + pageSize);
    return sendJson(reply, JSON.stringify({ count: names.length, doms: page }));
  });
}

function serviceKeyOf(p: NacosParams): ServiceKey {
  const name = serviceNameOf(p);
  return { namespace: namespaceOf(p), group: name.group, service: name.service };
}

function grouped(key: ServiceKey): string {
  return `${key.group}${GROUP_SEPARATOR}${key.service}`;
}

/**
 * A protect threshold is a ratio of healthy instances. Nacos stores any float; cairn keeps it in
 * [0, 1] (above 1 it would always fire, below 0 never) and says so when it is not.
 */
function thresholdOf(raw: string): number {
  const t = parseJavaDouble(raw);
  if (t < 0 || t > 1) throw badRequest(`protectThreshold must be between 0.0 and 1.0 (got ${raw})`);
  return t;
}

/**
 * Nacos's selectors: `none` (the default) or `label` (CMDB label matching). cairn has no CMDB, so a
 * label selector is refused rather than silently ignored.
 */
function checkSelector(raw: string): void {
  if (raw.trim() === '') return;
  let type: unknown;
  try {
    type = (JSON.parse(decodeURIComponent(raw)) as { type?: unknown } | null)?.type;
  } catch {
    throw badRequest(`Param 'selector' is not valid JSON: ${raw.slice(0, 200)}`);
  }
  if (type === 'none') return;
  if (type === 'label') throw badRequest('label selectors need a CMDB, which this registry does not have');
  throw badRequest('not match any type of selector!');
}

/** NumberUtils.toInt: a malformed number is 0. */
function lenientInt(raw: string): number {
  try {
    return parseJavaInt(raw.trim());
  } catch {
    return 0;
  }
}

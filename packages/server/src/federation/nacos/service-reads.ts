import type { FastifyInstance } from 'fastify';
import { javaDouble } from '../../api/nacos/nacos-json.js';
import { namespaceOf, serviceNameOf } from '../../api/nacos/nacos-names.js';
import { badRequest, NacosParams, parseBoolean, parseJavaInt } from '../../api/nacos/nacos-params.js';
import { sendJson } from '../../api/nacos/nacos-reply.js';
import type { FederatedServiceSummary, FederatedView } from '../federated-view.js';

const BASE = '/nacos/v1/ns/service';
/** Bounds a catalog page (each entry costs a service lookup), so one read cannot ask for everything. */
export const PAGE_SIZE_MAX = 1000;

/**
 * `GET /nacos/v1/ns/service` (detail), `GET /nacos/v1/ns/service/list` (names, one page) and
 * `GET /nacos/v1/ns/catalog/services` (the console's page with counts) over the merged view. A
 * service's settings come from the first configured zone that holds them (none: Nacos's defaults).
 */
export async function serviceReads(app: FastifyInstance, view: FederatedView): Promise<void> {
  app.get(BASE, async (req, reply) => {
    const p = NacosParams.fromRequest(req);
    const name = serviceNameOf(p);
    const namespace = namespaceOf(p);
    const svc = view.service({ namespace, group: name.group, service: name.service });
    if (!svc) throw badRequest(`service not found, namespace: ${namespace}, serviceName: ${name.grouped}`);
    const clusters = [...new Set(svc.instances.map((i) => i.cluster))].sort();
    const clustersJson = clusters
      .map((c) => `{"name":${JSON.stringify(c)},"healthChecker":{"type":"TCP"},"metadata":{}}`)
      .join(',');
    return sendJson(
      reply,
      `{"namespaceId":${JSON.stringify(namespace)},"groupName":${JSON.stringify(name.group)},` +
        `"name":${JSON.stringify(name.service)},"protectThreshold":${javaDouble(svc.info?.protectThreshold ?? 0)},` +
        `"metadata":${JSON.stringify(svc.info?.metadata ?? {})},"selector":{"type":"none"},"clusters":[${clustersJson}]}`,
    );
  });

  // Names only (group prefix removed), one page; `count` is the total in the group. Not capped:
  // Spring Cloud asks for page 1 of Integer.MAX_VALUE names, and names are small.
  app.get(`${BASE}/list`, async (req, reply) => {
    const p = NacosParams.fromRequest(req);
    const pageNo = lenientInt(p.required('pageNo'));
    const pageSize = lenientInt(p.required('pageSize'));
    const namespace = namespaceOf(p);
    const group = p.optional('groupName', 'DEFAULT_GROUP');
    const names = view.listServices({ namespace, group }).map((s) => s.service);
    return sendJson(reply, JSON.stringify({ count: names.length, doms: page(names, pageNo, pageSize) }));
  });

  // Nacos 2.x CatalogController with withInstances=false (what the console asks): one page of
  // ServiceView. The withInstances=true form (the default) is not served: it is refused, not faked.
  app.get('/nacos/v1/ns/catalog/services', async (req, reply) => {
    const p = NacosParams.fromRequest(req);
    if (parseBoolean(p.optional('withInstances', 'true'))) {
      throw badRequest('the federation serves catalog/services with withInstances=false only');
    }
    const pageNo = lenientInt(p.required('pageNo'));
    const pageSize = Math.min(PAGE_SIZE_MAX, lenientInt(p.required('pageSize')));
    const namespace = namespaceOf(p);
    const group = p.optional('groupNameParam', '').trim();
    const nameLike = p.optional('serviceNameParam', '').trim();
    const hasIpCount = parseBoolean(p.optional('hasIpCount', 'false'));
    const matching = view
      .listServices(group === '' ? { namespace } : { namespace, group })
      .filter((s) => nameLike === '' || s.service.includes(nameLike))
      .filter((s) => !hasIpCount || s.total > 0);
    const serviceList = page(matching, pageNo, pageSize).map((s) => serviceViewOf(view, s));
    return sendJson(reply, JSON.stringify({ count: matching.length, serviceList }));
  });
}

/** Nacos's ServiceView: counts over every serving zone. */
function serviceViewOf(view: FederatedView, s: FederatedServiceSummary): Record<string, unknown> {
  const svc = view.service(s);
  const clusters = new Set(svc?.instances.map((i) => i.cluster) ?? []);
  const threshold = svc?.info?.protectThreshold ?? 0;
  return {
    name: s.service,
    groupName: s.group,
    clusterCount: clusters.size,
    ipCount: s.total,
    healthyInstanceCount: s.healthy,
    triggerFlag: String(s.total > 0 && s.healthy / s.total <= threshold),
  };
}

function page<T>(items: readonly T[], pageNo: number, pageSize: number): T[] {
  const start = Math.max(0, (pageNo - 1) * pageSize);
  return start >= items.length || pageSize <= 0 ? [] : items.slice(start, start + pageSize);
}

/** NumberUtils.toInt: a malformed number is 0. */
function lenientInt(raw: string): number {
  try {
    return parseJavaInt(raw.trim());
  } catch {
    return 0;
  }
}

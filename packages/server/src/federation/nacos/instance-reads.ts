import type { FastifyInstance } from 'fastify';
import { instanceKeyOf } from '../../api/nacos/nacos-instance-spec.js';
import { namespaceOf, serviceNameOf } from '../../api/nacos/nacos-names.js';
import { NacosError, NacosParams, parseBoolean } from '../../api/nacos/nacos-params.js';
import { sendJson } from '../../api/nacos/nacos-reply.js';
import type { FederatedView } from '../federated-view.js';
import { federatedDetailJson, federatedListJson, findInstance } from './federated-hosts.js';

const BASE = '/nacos/v1/ns/instance';

/**
 * `GET /nacos/v1/ns/instance/list` and `GET /nacos/v1/ns/instance` over the merged view. `udpPort`
 * and `clientIP` are accepted and ignored: the federation does not push over UDP, so clients poll
 * every `cacheMillis` (short for that reason).
 */
export async function instanceReads(app: FastifyInstance, view: FederatedView, cacheMillis: number): Promise<void> {
  app.get(`${BASE}/list`, async (req, reply) => {
    const p = NacosParams.fromRequest(req);
    const namespace = namespaceOf(p);
    const name = serviceNameOf(p);
    const clusters = p.optional('clusters', '');
    const healthyOnly = parseBoolean(p.optional('healthyOnly', 'false'));
    const q = { namespace, name, clusters, healthyOnly, cacheMillis };
    return sendJson(reply, federatedListJson(view, q, Date.now()));
  });

  // The same ip:port may be registered in two zones: the first zone (configuration order) answers.
  app.get(BASE, async (req, reply) => {
    const p = NacosParams.fromRequest(req);
    const namespace = namespaceOf(p);
    const name = serviceNameOf(p);
    const key = instanceKeyOf(p, namespace, name);
    const svc = view.service(key);
    if (!svc) throw new NacosError(404, `no service ${name.grouped} found!`);
    if (!svc.instances.some((i) => i.cluster === key.cluster)) {
      throw new NacosError(404, `no ips found for cluster ${key.cluster} in service ${name.grouped}`);
    }
    const inst = findInstance(svc, key);
    if (!inst) throw new NacosError(404, 'no matched ip found!');
    return sendJson(reply, federatedDetailJson(inst));
  });
}

import type { FastifyInstance, FastifyReply } from 'fastify';
import { CairnError } from '../../errors.js';
import type { MergedView } from '../view/merged-view.js';
import { serviceParams, servicesQuery, zoneParams } from './rest-schemas.js';

export const REVISION_HEADER = 'x-cairn-revision';

/**
 * Reads of the merged view: zones, namespaces, services with per-zone counts and shares, and one
 * service's merged instances. Every answer carries the federation revision it reflects.
 */
export async function viewRoutes(app: FastifyInstance, opts: { view: MergedView }): Promise<void> {
  const { view } = opts;
  const at = (reply: FastifyReply): number => {
    const revision = view.revision;
    reply.header(REVISION_HEADER, String(revision));
    return revision;
  };

  app.get('/v1/zones', async (_req, reply) => ({
    revision: at(reply),
    mergeMode: view.mergeMode,
    zones: view.zones(),
  }));

  app.get('/v1/zones/:zone', async (req, reply) => {
    const { zone } = zoneParams.parse(req.params);
    const status = view.zone(zone);
    if (!status) throw new CairnError('NOT_FOUND', `no zone '${zone}' in this federation`);
    return { revision: at(reply), zone: status };
  });

  app.get('/v1/namespaces', async (_req, reply) => ({ revision: at(reply), namespaces: view.namespaces() }));

  app.get('/v1/services', async (req, reply) => {
    const q = servicesQuery.parse(req.query);
    let services = view.listServices({
      ...(q.namespace !== undefined ? { namespace: q.namespace } : {}),
      ...(q.group !== undefined ? { group: q.group } : {}),
    });
    if (q.q) {
      const needle = q.q.toLowerCase();
      services = services.filter((s) => s.service.toLowerCase().includes(needle));
    }
    return {
      revision: at(reply),
      total: services.length,
      services: services.length > q.limit ? services.slice(0, q.limit) : services,
    };
  });

  app.get('/v1/services/:namespace/:group/:service', async (req, reply) => {
    const ref = serviceParams.parse(req.params);
    const service = view.service(ref);
    if (!service) {
      throw new CairnError('NOT_FOUND', `no service ${ref.namespace}/${ref.group}/${ref.service} in any serving zone`);
    }
    return { revision: at(reply), service };
  });
}

import { cpus, freemem, loadavg, totalmem } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { NacosParams, parseBoolean } from '../../api/nacos/nacos-params.js';
import type { WireNamespace } from '../../protocol/wire-model.js';
import type { FederatedView } from '../federated-view.js';
import { sendJson } from './nacos-reply.js';

const PUBLIC = 'public';
/** Nacos's namespace quota and types (0 the global public namespace, 2 a custom one). */
const QUOTA = 200;
const TYPE_GLOBAL = 0;
const TYPE_CUSTOM = 2;

/**
 * The reads a Nacos console or client makes besides naming: `GET /nacos/v1/console/namespaces`
 * (the zones' namespaces merged; public shown as "" as Nacos 2.x does), `GET
 * /nacos/v1/ns/operator/metrics` (clients' health probe: UP once the view is ready). Login is in
 * nacos-login.ts.
 */
export async function consoleReads(app: FastifyInstance, view: FederatedView): Promise<void> {
  app.get('/nacos/v1/console/namespaces', async (req, reply) => {
    const p = NacosParams.fromRequest(req);
    const all = view.namespaces();
    if (parseBoolean(p.optional('checkNamespaceIdExist', 'false'))) {
      const id = p.optional('customNamespaceId', '').trim();
      return sendJson(reply, String(id !== '' && all.some((n) => n.id === storedId(id))));
    }
    if (p.optional('show', '') === 'all') {
      const id = storedId(p.optional('namespaceId', ''));
      const ns = all.find((n) => n.id === id);
      return sendJson(reply, ns ? JSON.stringify(consoleView(ns)) : 'null');
    }
    const data = [...all.filter((n) => n.id === PUBLIC), ...all.filter((n) => n.id !== PUBLIC)].map(consoleView);
    return sendJson(reply, JSON.stringify({ code: 200, message: null, data }));
  });

  app.get('/nacos/v1/ns/operator/metrics', async (_req, reply) => {
    let instances = 0;
    let ephemeral = 0;
    for (const inst of view.allInstances()) {
      instances++;
      if (inst.ephemeral) ephemeral++;
    }
    const load = loadavg()[0] ?? 0;
    return sendJson(
      reply,
      JSON.stringify({
        status: view.ready ? 'UP' : 'DOWN',
        serviceCount: view.listServices().length,
        instanceCount: instances,
        subscribeCount: 0,
        clientCount: instances,
        connectionBasedClientCount: 0,
        ephemeralIpPortClientCount: ephemeral,
        persistentIpPortClientCount: instances - ephemeral,
        responsibleClientCount: instances,
        cpu: round(Math.min(1, load / Math.max(1, cpus().length))),
        load: round(load),
        mem: round(1 - freemem() / totalmem()),
      }),
    );
  });
}

/** Nacos 2.x's "" is cairn's `public`. */
function storedId(id: string): string {
  return id === '' ? PUBLIC : id;
}

function consoleView(ns: WireNamespace): Record<string, unknown> {
  const isPublic = ns.id === PUBLIC;
  return {
    namespace: isPublic ? '' : ns.id,
    namespaceShowName: ns.name,
    namespaceDesc: ns.description,
    quota: QUOTA,
    configCount: 0,
    type: isPublic ? TYPE_GLOBAL : TYPE_CUSTOM,
  };
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

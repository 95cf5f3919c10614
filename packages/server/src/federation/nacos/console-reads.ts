import { cpus, freemem, loadavg, totalmem } from 'node:os';
import type { FastifyInstance } from 'fastify';
import {
  consoleNamespaceListJson,
  consoleNamespaceView,
  storedNamespaceId,
} from '../../api/nacos/console-namespace.js';
import { NacosParams, parseBoolean } from '../../api/nacos/nacos-params.js';
import { sendJson } from '../../api/nacos/nacos-reply.js';
import type { FederatedView } from '../federated-view.js';

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
      return sendJson(reply, String(id !== '' && all.some((n) => n.id === storedNamespaceId(id))));
    }
    if (p.optional('show', '') === 'all') {
      const id = storedNamespaceId(p.optional('namespaceId', ''));
      const ns = all.find((n) => n.id === id);
      return sendJson(reply, ns ? JSON.stringify(consoleNamespaceView(ns)) : 'null');
    }
    return sendJson(reply, consoleNamespaceListJson(all));
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

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

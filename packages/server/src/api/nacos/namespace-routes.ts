import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { CairnError } from '../../errors.js';
import { nameSchema } from '../../registry/model.js';
import { consoleNamespaceListJson, consoleNamespaceView, storedNamespaceId } from './console-namespace.js';
import { type NacosContext, sendJson } from './nacos-context.js';
import { NacosParams, parseBoolean } from './nacos-params.js';

const BASE = '/nacos/v1/console/namespaces';

/** Nacos's own rules for namespace ids and names; cairn's name rules apply to ids as well. */
const ID_PATTERN = /^[\w-]+$/;
const ID_LENGTH_MAX = 128;
const NAME_PATTERN = /^[^@#$%^&*]+$/;

/**
 * The console's namespace API (NamespaceController). Nacos 2.x shows the public namespace with id
 * "" and accepts "" for it; cairn stores it as `public`. Writes answer `true` or `false` (never an
 * error) the way Nacos does: an id that is taken or malformed, an unknown namespace, deleting the
 * public namespace, or deleting a namespace that still has services all answer `false`.
 */
export async function namespaceRoutes(app: FastifyInstance, ctx: NacosContext): Promise<void> {
  const { registry } = ctx;

  app.get(BASE, async (req, reply) => {
    const p = NacosParams.fromRequest(req);
    if (parseBoolean(p.optional('checkNamespaceIdExist', 'false'))) {
      await ctx.authorize(req, { resource: 'namespace', action: 'read', namespace: '*' });
      const id = p.optional('customNamespaceId', '').trim();
      return sendJson(reply, String(id !== '' && registry.state.namespaceExists(storedNamespaceId(id))));
    }
    if (p.optional('show', '') === 'all') {
      const id = storedNamespaceId(p.optional('namespaceId', ''));
      await ctx.authorize(req, { resource: 'namespace', action: 'read', namespace: id });
      const ns = registry.state.listNamespaces().find((n) => n.id === id);
      return sendJson(reply, ns ? JSON.stringify(consoleNamespaceView(ns)) : 'null');
    }
    await ctx.authorize(req, { resource: 'namespace', action: 'read', namespace: '*' });
    return sendJson(reply, consoleNamespaceListJson(registry.state.listNamespaces()));
  });

  app.post(BASE, async (req, reply) => {
    const p = NacosParams.fromRequest(req);
    const custom = p.optional('customNamespaceId', '').trim();
    const name = p.required('namespaceName');
    const description = p.optional('namespaceDesc', '');
    const id = custom === '' ? randomUUID() : custom;
    await ctx.authorize(req, { resource: 'namespace', action: 'admin', namespace: id });
    if (!validId(id) || !NAME_PATTERN.test(name) || registry.state.namespaceExists(storedNamespaceId(id))) {
      return sendJson(reply, 'false');
    }
    ctx.quota.admit({ op: 'namespace.put', namespace: { id, name, description } });
    await registry.execute({ op: 'namespace.put', namespace: { id, name, description } });
    return sendJson(reply, 'true');
  });

  app.put(BASE, async (req, reply) => {
    const p = NacosParams.fromRequest(req);
    const id = storedNamespaceId(p.required('namespace').trim());
    const name = p.required('namespaceShowName');
    const description = p.optional('namespaceDesc', '');
    await ctx.authorize(req, { resource: 'namespace', action: 'admin', namespace: id });
    if (!NAME_PATTERN.test(name) || !registry.state.namespaceExists(id)) return sendJson(reply, 'false');
    await registry.execute({ op: 'namespace.put', namespace: { id, name, description } });
    return sendJson(reply, 'true');
  });

  app.delete(BASE, async (req, reply) => {
    const p = NacosParams.fromRequest(req);
    const id = storedNamespaceId(p.required('namespaceId').trim());
    await ctx.authorize(req, { resource: 'namespace', action: 'admin', namespace: id });
    try {
      await registry.execute({ op: 'namespace.delete', id });
    } catch (err) {
      if (err instanceof CairnError && (err.code === 'NOT_FOUND' || err.code === 'CONFLICT')) {
        return sendJson(reply, 'false');
      }
      throw err;
    }
    return sendJson(reply, 'true');
  });
}

function validId(id: string): boolean {
  return ID_PATTERN.test(id) && id.length <= ID_LENGTH_MAX && nameSchema.safeParse(id).success;
}

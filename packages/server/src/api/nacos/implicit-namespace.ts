import type { ZoneRegistry } from '../../registry/zone-registry.js';

/**
 * Nacos's naming module never asks for a namespace to be created: a client configured with namespace
 * `dev` just registers into it. cairn keeps namespaces explicit, so a Nacos write into an unknown
 * namespace creates it first (named after its id). The linearizable barrier keeps us from
 * overwriting a namespace another replica has just created with a real name and description.
 */
export async function ensureNamespace(registry: ZoneRegistry, id: string): Promise<void> {
  if (registry.state.namespaceExists(id)) return;
  await registry.barrier();
  if (registry.state.namespaceExists(id)) return;
  await registry.execute({ op: 'namespace.put', namespace: { id, name: id, description: '' } });
}

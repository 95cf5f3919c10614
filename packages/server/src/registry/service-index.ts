import type { ServiceKey } from './model.js';

/**
 * Values by service (namespace, group, name), in insertion order. Lookups walk three small maps by
 * the names as given, instead of joining them into one key first: every renewal and read looks a
 * service up, and a joined key is a new string to build and hash each time.
 */
export class ServiceIndex<V> {
  private readonly ordered = new Set<V>();
  private readonly byName = new Map<string, Map<string, Map<string, V>>>();

  get size(): number {
    return this.ordered.size;
  }

  get(k: ServiceKey): V | undefined {
    return this.byName.get(k.namespace)?.get(k.group)?.get(k.service);
  }

  /** Adds a service (which must not be there yet). */
  add(k: ServiceKey, value: V): void {
    let groups = this.byName.get(k.namespace);
    if (!groups) {
      groups = new Map();
      this.byName.set(k.namespace, groups);
    }
    let names = groups.get(k.group);
    if (!names) {
      names = new Map();
      groups.set(k.group, names);
    }
    if (names.has(k.service)) throw new Error(`service index: ${k.namespace}/${k.group}/${k.service} added twice`);
    names.set(k.service, value);
    this.ordered.add(value);
  }

  delete(k: ServiceKey): void {
    const groups = this.byName.get(k.namespace);
    const names = groups?.get(k.group);
    const value = names?.get(k.service);
    if (!groups || !names || value === undefined) return;
    names.delete(k.service);
    if (names.size === 0) groups.delete(k.group);
    if (groups.size === 0) this.byName.delete(k.namespace);
    this.ordered.delete(value);
  }

  /** In the order services were added. */
  values(): IterableIterator<V> {
    return this.ordered.values();
  }
}

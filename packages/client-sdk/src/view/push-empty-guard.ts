import type { Instance } from '../instance.js';

/** Instances in traffic that the registry calls healthy. */
export function healthyCount(instances: Iterable<Instance>): number {
  let n = 0;
  for (const i of instances) if (i.healthy && i.enabled && i.weight > 0) n++;
  return n;
}

/**
 * Push-empty protection: an update that would take a service from some healthy instances to none is
 * more often a registry fault (a replica that lost its state, a botched migration, a partition) than
 * a fleet that died at once, and applying it would stop every call. Such an update is held back and
 * reported; it is applied once a fresh read confirms it, or dropped when the stream brings healthy
 * instances back.
 */
export function wouldEmpty(current: Iterable<Instance>, next: Iterable<Instance>): boolean {
  return healthyCount(current) > 0 && healthyCount(next) === 0;
}

import { CairnError } from '../../errors.js';
import { instanceIdOf, type Metadata, type ServiceKey, serviceKeyOf } from '../../registry/model.js';
import type { RegistryState } from '../../registry/registry-state.js';
import type { CommandInput, ZoneRegistry } from '../../registry/zone-registry.js';
import { DEFAULT_SERVER_LIMITS, type ServerLimits } from './server-limits.js';

/**
 * The size bounds of the registry (instances per service and per namespace, services per namespace,
 * namespaces, metadata bytes), checked at the edge before a write is proposed, so that a refused
 * write never reaches the log. Every API surface that grows the registry asks `admit` first.
 *
 * The counts are this replica's applied state when the write arrives: writes in flight at the same
 * moment (on this replica or others) can each pass, so a bound may be overshot by at most the writes
 * in flight, themselves bounded (--writes-inflight-max per replica). The bounds are per replica
 * configuration, not replicated: keeping them out of the state machine keeps it deterministic.
 */
export class RegistryQuota {
  constructor(
    private readonly registry: ZoneRegistry,
    readonly limits: ServerLimits = DEFAULT_SERVER_LIMITS,
  ) {}

  /**
   * Throws LIMIT_EXCEEDED (or PAYLOAD_TOO_LARGE for metadata) when `cmd` would pass a bound.
   * `createsNamespace`: the caller creates a missing namespace first (the Nacos API does).
   */
  admit(cmd: CommandInput, opts: { createsNamespace?: boolean } = {}): void {
    const state = this.registry.state;
    switch (cmd.op) {
      case 'register': {
        const spec = cmd.instance;
        this.checkMetadata(spec.metadata, 'instance metadata');
        if (state.instance(spec)) return;
        if (opts.createsNamespace && !state.namespaceExists(spec.namespace)) this.checkNamespaces(state);
        if (!state.service(spec)) this.checkServices(state, spec.namespace);
        this.checkInstances(state, spec, instanceIdOf(spec));
        return;
      }
      case 'update':
        if (cmd.patch.metadata) this.checkMetadata(cmd.patch.metadata, 'instance metadata');
        return;
      case 'service.put':
        this.checkMetadata(cmd.service.metadata, 'service metadata');
        if (state.service(cmd.service)) return;
        if (opts.createsNamespace && !state.namespaceExists(cmd.service.namespace)) this.checkNamespaces(state);
        this.checkServices(state, cmd.service.namespace);
        return;
      case 'namespace.put':
        if (!state.namespaceExists(cmd.namespace.id)) this.checkNamespaces(state);
        return;
      default:
        return;
    }
  }

  private checkMetadata(metadata: Metadata, what: string): void {
    let bytes = 0;
    for (const [k, v] of Object.entries(metadata)) bytes += Buffer.byteLength(k) + Buffer.byteLength(v);
    if (bytes > this.limits.metadataBytesMax) {
      throw new CairnError(
        'PAYLOAD_TOO_LARGE',
        `${what} is ${bytes} bytes; at most ${this.limits.metadataBytesMax} bytes of keys and values (metadata-bytes-max)`,
      );
    }
  }

  private checkInstances(state: RegistryState, key: ServiceKey, id: string): void {
    const { instancesPerServiceMax, instancesPerNamespaceMax } = this.limits;
    if (state.instanceCountOf(key) >= instancesPerServiceMax) {
      throw new CairnError(
        'LIMIT_EXCEEDED',
        `service ${serviceKeyOf(key)} holds ${instancesPerServiceMax} instances, the most one service may hold ` +
          `(instances-per-service-max); ${id} was not registered`,
      );
    }
    if (state.instanceCountIn(key.namespace) >= instancesPerNamespaceMax) {
      throw new CairnError(
        'LIMIT_EXCEEDED',
        `namespace ${key.namespace} holds ${instancesPerNamespaceMax} instances, the most one namespace may hold ` +
          `(instances-per-namespace-max); ${id} was not registered`,
      );
    }
  }

  private checkServices(state: RegistryState, namespace: string): void {
    const max = this.limits.servicesPerNamespaceMax;
    if (state.serviceCountIn(namespace) >= max) {
      throw new CairnError(
        'LIMIT_EXCEEDED',
        `namespace ${namespace} holds ${max} services, the most one namespace may hold (services-per-namespace-max)`,
      );
    }
  }

  private checkNamespaces(state: RegistryState): void {
    const max = this.limits.namespacesMax;
    if (state.totalNamespaces >= max) {
      throw new CairnError(
        'LIMIT_EXCEEDED',
        `the registry holds ${max} namespaces, the most it may hold (namespaces-max)`,
      );
    }
  }
}

const quotas = new WeakMap<ZoneRegistry, RegistryQuota>();

/** The one quota of a replica, shared by its API surfaces. */
export function quotaOf(registry: ZoneRegistry, limits: ServerLimits): RegistryQuota {
  let q = quotas.get(registry);
  if (!q) {
    q = new RegistryQuota(registry, limits);
    quotas.set(registry, q);
  }
  return q;
}

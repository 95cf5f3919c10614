import type { FastifyBaseLogger } from 'fastify';
import type { ZoneRegistry } from '../../registry/zone-registry.js';
import type { RegistryQuota } from '../limits/registry-quota.js';
import type { PushLimits } from './push-limits.js';
import type { PushStats } from './push-stats.js';
import type { RevisionWaiter } from './revision-waiter.js';

/** What every push socket of one replica shares. */
export interface PushContext {
  readonly registry: ZoneRegistry;
  readonly limits: PushLimits;
  readonly stats: PushStats;
  readonly log: FastifyBaseLogger;
  readonly waiter: RevisionWaiter;
  /** Size bounds a session registration is checked against (none: unchecked). */
  readonly quota?: RegistryQuota;
}

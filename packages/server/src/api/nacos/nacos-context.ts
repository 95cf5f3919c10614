import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerConfig } from '../../config/server-config.js';
import type { ZoneRegistry } from '../../registry/zone-registry.js';
import type { RegistryQuota } from '../limits/registry-quota.js';
import type { UdpPusher } from './udp-push.js';

/** What a Nacos request touches, for an authorization layer (none yet: auth is off). */
export interface NacosAccess {
  readonly resource: 'instance' | 'service' | 'namespace' | 'operator';
  readonly action: 'read' | 'write' | 'admin';
  /** The namespace touched; '*' for requests that span them all. */
  readonly namespace: string;
}

/**
 * Refuses a request by throwing (a CairnError UNAUTHENTICATED / FORBIDDEN becomes Nacos's 403 text).
 * Credentials arrive as Nacos clients send them: `accessToken` or `username` + `password` parameters
 * (query or form body; read them with NacosParams.fromRequest) or an `Authorization: Bearer` header.
 */
export type NacosAuthorizer = (request: FastifyRequest, access: NacosAccess) => Promise<void> | void;

/** Everything a Nacos route needs. */
export interface NacosContext {
  readonly registry: ZoneRegistry;
  readonly config: ServerConfig;
  readonly pusher: UdpPusher;
  /** `cacheMillis` in `instance/list` answers. */
  readonly cacheMillis: number;
  /** The beat interval answered for instances that do not set their own (Nacos's clientBeatInterval). */
  readonly clientBeatIntervalMs: number;
  authorize(request: FastifyRequest, access: NacosAccess): Promise<void>;
  /** Size bounds a write is checked against before it is proposed. */
  readonly quota: RegistryQuota;
  /** Counts a write the server's write guard does not see as one (a beat that re-registers). */
  admitWrite(request: FastifyRequest, reply: FastifyReply): Promise<void>;
}

export { sendJson, sendText } from './nacos-reply.js';

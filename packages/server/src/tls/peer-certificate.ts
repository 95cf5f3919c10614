import type { TLSSocket } from 'node:tls';
import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { CairnError } from '../errors.js';

/** At most one refusal log line per this interval: a scanner must not flood the log. */
const REFUSAL_LOG_EVERY_MS = 1000;

/** True when the request came over TLS with a client certificate the server's CA verified. */
export function hasVerifiedClientCertificate(req: FastifyRequest): boolean {
  const socket = req.raw.socket as Partial<TLSSocket> | null;
  return socket?.encrypted === true && socket.authorized === true;
}

/**
 * A fastify onRequest hook for mutual TLS between replicas: a route `isReplicaRoute` accepts (the
 * peer WebSocket, the internal routes) refuses, before anything else runs, a request without a client
 * certificate signed by the zone's CA. Every other route is left alone: API clients need no
 * certificate. The cluster secret is still checked by the routes themselves.
 */
export function peerCertificateGuard(isReplicaRoute: (routeUrl: string) => boolean): onRequestAsyncHookHandler {
  let lastLogMs = Number.NEGATIVE_INFINITY;
  return async (req) => {
    const route = req.routeOptions.url;
    if (route === undefined || !isReplicaRoute(route) || hasVerifiedClientCertificate(req)) return;
    const nowMs = performance.now();
    if (nowMs - lastLogMs >= REFUSAL_LOG_EVERY_MS) {
      lastLogMs = nowMs;
      const socket = req.raw.socket as Partial<TLSSocket> | null;
      req.log.warn(
        { remote: req.ip, route, reason: socket?.authorizationError?.toString() ?? 'no client certificate' },
        'replica route refused: no client certificate signed by the zone CA',
      );
    }
    throw new CairnError('FORBIDDEN', 'replica routes require a client certificate signed by the zone CA');
  };
}

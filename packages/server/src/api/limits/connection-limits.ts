import { type Server, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { CairnError } from '../../errors.js';
import { frameworkErrorHandler } from '../error-handler.js';
import type { ServerLimits } from './server-limits.js';

/**
 * Timeouts and the connection bound of a replica's HTTP server, against slow and idle clients:
 * headers must arrive within headersTimeoutMs and a whole request within requestTimeoutMs (Node
 * answers 408 and closes), a silent connection is closed after idleTimeoutMs, an idle keep-alive
 * connection after keepAliveTimeoutMs, and connections beyond connectionsMax are dropped at accept.
 * Upgraded WebSockets leave these behind: the push sockets have their own ping and idle timers.
 */

/**
 * The fastify options of a server that faces clients: the timeouts, and the refusals fastify and
 * Node make before any route runs answered in cairn's format. Use with `applyConnectionLimits` on
 * the server, and the upgrade guard plugin (upgrade-guard.ts) at the root.
 */
export function edgeServerOptions(limits: ServerLimits) {
  return {
    connectionTimeout: limits.idleTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    clientErrorHandler,
    frameworkErrors: frameworkErrorHandler,
  };
}

/** What fastify's options do not carry; call before the server listens. */
export function applyConnectionLimits(server: Server, limits: ServerLimits): void {
  server.headersTimeout = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);
  server.maxConnections = limits.connectionsMax;
  // Node looks for expired header and request deadlines on this interval (default 30 s), read when
  // the server starts listening: check often enough to hold the deadlines to within a quarter.
  const shortestMs = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);
  // Node answers an unknown Expect with an empty 417 and drops CONNECT without a word: an
  // expectation we do not know is ignored (RFC 9110 allows it), CONNECT is refused in our format.
  server.on('checkExpectation', (req, res) => server.emit('request', req, res));
  server.on('connect', (_req, socket: Duplex) =>
    refuseOnSocket(socket, new CairnError('VALIDATION_FAILED', 'CONNECT is not supported: this is not a proxy')),
  );
  (server as { connectionsCheckingInterval?: number }).connectionsCheckingInterval = Math.max(
    50,
    Math.min(1000, Math.floor(shortestMs / 4)),
  );
}

/**
 * Answers what Node's HTTP parser refuses before any route runs (a malformed request line or header,
 * headers over Node's 16 KiB, a request too slow to arrive) in cairn's error format, then closes.
 * For fastify's `clientErrorHandler` option.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const e =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new CairnError('REQUEST_TIMEOUT', 'the request did not arrive in time (headers-timeout-ms, request-timeout-ms)')
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? new CairnError('HEADERS_TOO_LARGE', 'the request headers are larger than this server reads (16 KiB)')
        : new CairnError('VALIDATION_FAILED', `the request is not valid HTTP/1.1 (${err.code ?? 'parse error'})`);
  refuseOnSocket(socket, e);
}

/** Writes a refusal straight to a socket that left (or never reached) Node's HTTP handling, and closes it. */
function refuseOnSocket(socket: Duplex, e: CairnError): void {
  const body = JSON.stringify(e.toJSON());
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${e.httpStatus} ${STATUS_CODES[e.httpStatus]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { CairnError } from '../../errors.js';

/**
 * WebSocket upgrade requests refused in cairn's error format. @fastify/websocket hands every upgrade
 * request to ws, which answers a malformed handshake with its own text/html 400 and drops an upgrade
 * to a route that does not speak WebSocket without a word. This plugin checks first, at `onRequest`:
 * an upgrade to a plain HTTP route, or a handshake ws would refuse, is a VALIDATION_FAILED answer.
 * Register it at the root, before the routes.
 */
export function createUpgradeGuardPlugin(): FastifyPluginAsync {
  return fp(
    async (app) => {
      const socketRoutes = new Set<string>();
      /** Socket routes without an HTTP handler of their own (@fastify/websocket answers those an empty 404). */
      const socketOnlyRoutes = new Set<string>();
      app.addHook('onRoute', (route) => {
        const r = route as { websocket?: boolean; wsHandler?: unknown };
        if (r.websocket || r.wsHandler) socketRoutes.add(route.url);
        if (r.websocket) socketOnlyRoutes.add(route.url);
      });
      app.addHook('onRequest', async (req, reply) => {
        const url = req.routeOptions.url;
        // Node sets `upgrade` on a request that asks for one (Connection: upgrade and an Upgrade header).
        if (!(req.raw as { upgrade?: boolean }).upgrade) {
          if (url !== undefined && socketOnlyRoutes.has(url)) {
            throw new CairnError('VALIDATION_FAILED', `${url} speaks WebSocket: connect with an Upgrade request`);
          }
          return;
        }
        let message: string;
        if (url === undefined || !socketRoutes.has(url)) {
          message = `${req.url.split('?')[0]} does not speak WebSocket: send a plain HTTP request`;
        } else {
          const problem = handshakeProblem(req.method, req.headers);
          if (problem === null) return;
          message = `not a valid WebSocket handshake: ${problem}`;
        }
        closeAfterAnswer(req, reply);
        throw new CairnError('VALIDATION_FAILED', message);
      });
    },
    { name: 'cairn-upgrade-guard', fastify: '5.x' },
  );
}

/** An RFC 7230 token, as a subprotocol name must be. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** What ws (RFC 6455 section 4.2.1) would refuse in a handshake, or null. */
export function handshakeProblem(
  method: string,
  headers: Record<string, string | string[] | undefined>,
): string | null {
  if (method !== 'GET') return 'the method must be GET';
  const upgrade = headers.upgrade;
  if (typeof upgrade !== 'string' || upgrade.toLowerCase() !== 'websocket') return 'Upgrade must be websocket';
  const key = headers['sec-websocket-key'];
  if (typeof key !== 'string' || !/^[+/0-9A-Za-z]{22}==$/.test(key)) return 'Sec-WebSocket-Key is missing or malformed';
  const version = Number(headers['sec-websocket-version']);
  if (version !== 13 && version !== 8) return 'Sec-WebSocket-Version must be 13';
  const protocols = headers['sec-websocket-protocol'];
  if (protocols !== undefined) {
    const list = typeof protocols === 'string' ? protocols.split(',').map((p) => p.trim()) : [];
    if (list.length === 0 || !list.every((p) => TOKEN.test(p)) || new Set(list).size !== list.length) {
      return 'Sec-WebSocket-Protocol is malformed';
    }
  }
  return null;
}

/**
 * An upgrade request's socket has left Node's HTTP handling: after an HTTP answer to it, nobody
 * closes it but us (the client would wait forever). Call before answering an upgrade request.
 */
export function closeAfterAnswer(req: FastifyRequest, reply: FastifyReply): void {
  if (!(req.raw as { upgrade?: boolean }).upgrade) return;
  const socket = req.raw.socket;
  reply.header('connection', 'close');
  reply.raw.once('finish', () => {
    socket.end();
    // Read and drop what the client still sends (a body nobody parses), so the socket ends when the
    // client's side does; a client that never stops is cut after a grace period.
    socket.resume();
    setTimeout(() => socket.destroy(), UPGRADE_LINGER_MS).unref();
  });
}

/** How long a refused upgrade's socket may linger after the answer. */
const UPGRADE_LINGER_MS = 5000;

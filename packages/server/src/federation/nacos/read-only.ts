import type { FastifyInstance, FastifyReply } from 'fastify';
import { sendText } from '../../api/nacos/nacos-reply.js';

/** Every Nacos write path, by method. */
const WRITES: readonly (readonly ['POST' | 'PUT' | 'PATCH' | 'DELETE', string])[] = [
  ['POST', '/nacos/v1/ns/instance'],
  ['PUT', '/nacos/v1/ns/instance'],
  ['PATCH', '/nacos/v1/ns/instance'],
  ['DELETE', '/nacos/v1/ns/instance'],
  ['PUT', '/nacos/v1/ns/instance/beat'],
  ['POST', '/nacos/v1/ns/service'],
  ['PUT', '/nacos/v1/ns/service'],
  ['DELETE', '/nacos/v1/ns/service'],
  ['POST', '/nacos/v1/console/namespaces'],
  ['PUT', '/nacos/v1/console/namespaces'],
  ['DELETE', '/nacos/v1/console/namespaces'],
];

/** What a client that tries to write is told. */
export const READ_ONLY_MESSAGE =
  'this is a cairn federation, which serves a read-only merged view of its zones: register, ' +
  'deregister, update, beat and manage services and namespaces at a zone registry (its Nacos API, ' +
  '/nacos/v1 on any replica of the zone)';

/**
 * Writes are refused with 405 Method Not Allowed (the resource exists, only reading is allowed
 * here; a 403 would read as an authentication failure to Nacos clients, a 5xx as a fault worth
 * retrying) and a plain-text message that says where writes go.
 */
export async function readOnlyRoutes(app: FastifyInstance): Promise<void> {
  const refuse = async (_req: unknown, reply: FastifyReply) =>
    sendText(reply.header('Allow', 'GET'), READ_ONLY_MESSAGE, 405);
  for (const [method, url] of WRITES) app.route({ method, url, handler: refuse });
}

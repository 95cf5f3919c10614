import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { nacosLoginRoutes } from '../../api/nacos/nacos-login.js';

/**
 * The Nacos login routes on a federation node, as the zone's (api/nacos/nacos-login.ts): with auth
 * on, the same access tokens as `POST /v1/auth/login` (accepted by this node, and by every zone and
 * node sharing the auth file). With auth off, any username and password get a random token nothing
 * checks, without global admin.
 */
export async function nacosLogin(app: FastifyInstance): Promise<void> {
  nacosLoginRoutes(app, () => ({ token: randomBytes(24).toString('base64url'), globalAdmin: false }));
}

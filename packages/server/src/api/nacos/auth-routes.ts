import { createHmac, randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { NacosContext } from './nacos-context.js';
import { nacosLoginRoutes, TOKEN_TTL_S } from './nacos-login.js';

/**
 * The Nacos login routes of a zone replica (see nacos-login.ts). With auth off every request is
 * allowed, so login accepts ANY username and password and answers a JWT-shaped token signed with a
 * key made at start-up that nothing checks; `globalAdmin` is true because, with auth off, everyone is.
 */
export async function authRoutes(app: FastifyInstance, _ctx: NacosContext): Promise<void> {
  const key = randomBytes(32);
  nacosLoginRoutes(app, (username) => ({
    token: jwt(key, { sub: username, exp: Math.floor(Date.now() / 1000) + TOKEN_TTL_S }),
    globalAdmin: true,
  }));
}

function jwt(key: Buffer, payload: Record<string, unknown>): string {
  const b64 = (v: string | Buffer) => Buffer.from(v).toString('base64url');
  const head = `${b64(JSON.stringify({ alg: 'HS256' }))}.${b64(JSON.stringify(payload))}`;
  return `${head}.${createHmac('sha256', key).update(head).digest('base64url')}`;
}

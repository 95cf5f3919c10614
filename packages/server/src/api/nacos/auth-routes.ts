import { createHmac, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { NacosContext } from './nacos-context.js';
import { NacosParams } from './nacos-params.js';

/** Nacos's default token lifetime, in seconds. */
export const TOKEN_TTL_S = 18_000;

/**
 * `POST /nacos/v1/auth/login` and `/nacos/v1/auth/users/login`.
 *
 * Authentication is OFF in this version of cairn (a later issue adds it): every request is allowed,
 * so login accepts ANY username and password and answers the well-formed Nacos token response
 * (`accessToken`, `tokenTtl`, `globalAdmin`, `username`, plus the `Authorization: Bearer` header),
 * which is what Nacos clients need to proceed. The token is JWT-shaped and signed with a key made at
 * start-up, but nothing checks it; `globalAdmin` is true because, with auth off, everyone is.
 * username and password are still required, as in Nacos.
 */
export async function authRoutes(app: FastifyInstance, _ctx: NacosContext): Promise<void> {
  const key = randomBytes(32);
  const login = async (req: FastifyRequest, reply: FastifyReply) => {
    const p = NacosParams.fromRequest(req);
    const username = p.required('username');
    p.required('password');
    const token = jwt(key, { sub: username, exp: Math.floor(Date.now() / 1000) + TOKEN_TTL_S });
    return reply
      .status(200)
      .header('Authorization', `Bearer ${token}`)
      .type('application/json;charset=UTF-8')
      .send(JSON.stringify({ accessToken: token, tokenTtl: TOKEN_TTL_S, globalAdmin: true, username }));
  };
  app.post('/nacos/v1/auth/login', login);
  app.post('/nacos/v1/auth/users/login', login);
}

function jwt(key: Buffer, payload: Record<string, unknown>): string {
  const b64 = (v: string | Buffer) => Buffer.from(v).toString('base64url');
  const head = `${b64(JSON.stringify({ alg: 'HS256' }))}.${b64(JSON.stringify(payload))}`;
  return `${head}.${createHmac('sha256', key).update(head).digest('base64url')}`;
}

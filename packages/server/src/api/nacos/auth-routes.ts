import { createHmac, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuthGuard } from '../../auth/auth-guard.js';
import { authGuardOf } from '../../auth/auth-plugin.js';
import { allows } from '../../auth/roles.js';
import { CairnError } from '../../errors.js';
import type { NacosContext } from './nacos-context.js';
import { NacosError, NacosParams } from './nacos-params.js';

/** Nacos's default token lifetime, in seconds. */
export const TOKEN_TTL_S = 18_000;

const LOGIN_PATHS = ['/nacos/v1/auth/login', '/nacos/v1/auth/users/login'] as const;

/**
 * `POST /nacos/v1/auth/login` and `/nacos/v1/auth/users/login`, answering Nacos's token response
 * (`accessToken`, `tokenTtl`, `globalAdmin`, `username`, plus the `Authorization: Bearer` header).
 *
 * With auth on (an auth file), the login is real: the auth file's users, the same access tokens as
 * `POST /v1/auth/login`, the same per-IP rate limit, and Nacos's 403 `user not found!` for an
 * unknown user and a wrong password alike.
 *
 * With auth off every request is allowed, so login accepts ANY username and password (both still
 * required, as in Nacos) and answers a JWT-shaped token signed with a key made at start-up that
 * nothing checks; `globalAdmin` is true because, with auth off, everyone is.
 */
export async function authRoutes(app: FastifyInstance, _ctx: NacosContext): Promise<void> {
  const guard = authGuardOf(app);
  const login = guard ? realLogin(guard) : acceptAnyLogin();
  for (const path of LOGIN_PATHS) {
    if (guard?.limitLogins) app.post(path, { onRequest: guard.limitLogins }, login);
    else app.post(path, login);
  }
}

function realLogin(guard: AuthGuard) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const p = NacosParams.fromRequest(req);
    const username = p.required('username');
    const password = p.required('password');
    let result: Awaited<ReturnType<AuthGuard['login']>>;
    try {
      result = await guard.login(req, username, password);
    } catch (err) {
      if (err instanceof CairnError && err.code === 'UNAUTHENTICATED') throw new NacosError(403, 'user not found!');
      throw err;
    }
    const globalAdmin = allows(result.identity.roles, 'admin', '*');
    return sendToken(reply, result.accessToken, result.expiresInS, globalAdmin, result.identity.name);
  };
}

function acceptAnyLogin() {
  const key = randomBytes(32);
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const p = NacosParams.fromRequest(req);
    const username = p.required('username');
    p.required('password');
    const token = jwt(key, { sub: username, exp: Math.floor(Date.now() / 1000) + TOKEN_TTL_S });
    return sendToken(reply, token, TOKEN_TTL_S, true, username);
  };
}

function sendToken(reply: FastifyReply, token: string, ttlS: number, globalAdmin: boolean, username: string) {
  return reply
    .status(200)
    .header('Authorization', `Bearer ${token}`)
    .header('cache-control', 'no-store')
    .type('application/json;charset=UTF-8')
    .send(JSON.stringify({ accessToken: token, tokenTtl: ttlS, globalAdmin, username }));
}

function jwt(key: Buffer, payload: Record<string, unknown>): string {
  const b64 = (v: string | Buffer) => Buffer.from(v).toString('base64url');
  const head = `${b64(JSON.stringify({ alg: 'HS256' }))}.${b64(JSON.stringify(payload))}`;
  return `${head}.${createHmac('sha256', key).update(head).digest('base64url')}`;
}

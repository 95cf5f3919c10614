import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuthGuard } from '../../auth/auth-guard.js';
import { authGuardOf } from '../../auth/auth-plugin.js';
import { ANY_NAMESPACE, allows } from '../../auth/roles.js';
import { CairnError } from '../../errors.js';
import { NacosError, NacosParams } from './nacos-params.js';

/** Nacos's default token lifetime, in seconds. */
export const TOKEN_TTL_S = 18_000;

const LOGIN_PATHS = ['/nacos/v1/auth/login', '/nacos/v1/auth/users/login'] as const;

/** The token a login answers with auth off (nothing checks it), and whether it claims global admin. */
export type OpenLogin = (username: string) => { readonly token: string; readonly globalAdmin: boolean };

/**
 * `POST /nacos/v1/auth/login` and `/nacos/v1/auth/users/login`, answering Nacos's token response
 * (`accessToken`, `tokenTtl`, `globalAdmin`, `username`, plus the `Authorization: Bearer` header),
 * on a zone replica and on a federation node alike.
 *
 * With auth on (the app's guard), the login is real: the auth file's users, the same access tokens
 * as `POST /v1/auth/login`, the same per-IP rate limit, and Nacos's 403 `user not found!` for an
 * unknown user and a wrong password alike. With auth off, any username and password (both still
 * required, as in Nacos) get the token `openLogin` makes.
 */
export function nacosLoginRoutes(app: FastifyInstance, openLogin: OpenLogin): void {
  const guard = authGuardOf(app);
  const login = guard ? realLogin(guard) : acceptAnyLogin(openLogin);
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
    const globalAdmin = allows(result.identity.roles, 'admin', ANY_NAMESPACE);
    return sendToken(reply, result.accessToken, result.expiresInS, globalAdmin, result.identity.name);
  };
}

function acceptAnyLogin(openLogin: OpenLogin) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const p = NacosParams.fromRequest(req);
    const username = p.required('username');
    p.required('password');
    const { token, globalAdmin } = openLogin(username);
    return sendToken(reply, token, TOKEN_TTL_S, globalAdmin, username);
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

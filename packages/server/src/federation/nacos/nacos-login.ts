import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TOKEN_TTL_S } from '../../api/nacos/auth-routes.js';
import { NacosError, NacosParams } from '../../api/nacos/nacos-params.js';
import type { AuthGuard } from '../../auth/auth-guard.js';
import { authGuardOf } from '../../auth/auth-plugin.js';
import { ANY_NAMESPACE, allows } from '../../auth/roles.js';
import { CairnError } from '../../errors.js';

const LOGIN_PATHS = ['/nacos/v1/auth/login', '/nacos/v1/auth/users/login'] as const;

/**
 * `POST /nacos/v1/auth/login` and `/nacos/v1/auth/users/login` on a federation node, as the zone's
 * (api/nacos/auth-routes.ts): Nacos's `{accessToken, tokenTtl, globalAdmin, username}` and the
 * `Authorization: Bearer` header.
 *
 * With auth on, a real login: the auth file's users, the same access tokens as `POST
 * /v1/auth/login` (accepted by this node, and by every zone and node sharing the auth file), the same
 * per-IP rate limit, and Nacos's 403 `user not found!` for an unknown user and a wrong password alike.
 * With auth off, any username and password (both required, as in Nacos) get a token nothing checks.
 */
export async function nacosLogin(app: FastifyInstance): Promise<void> {
  const guard = authGuardOf(app);
  const login = guard ? realLogin(guard) : acceptAnyLogin;
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

async function acceptAnyLogin(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const p = NacosParams.fromRequest(req);
  const username = p.required('username');
  p.required('password');
  return sendToken(reply, randomBytes(24).toString('base64url'), TOKEN_TTL_S, false, username);
}

function sendToken(reply: FastifyReply, token: string, ttlS: number, globalAdmin: boolean, username: string) {
  return reply
    .status(200)
    .header('Authorization', `Bearer ${token}`)
    .header('cache-control', 'no-store')
    .type('application/json;charset=UTF-8')
    .send(JSON.stringify({ accessToken: token, tokenTtl: ttlS, globalAdmin, username }));
}

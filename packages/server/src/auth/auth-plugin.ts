import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest, onRequestHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { z } from 'zod';
import { CairnError } from '../errors.js';
import type { AuthConfig } from './auth-config.js';
import { AuthGuard } from './auth-guard.js';
import { type RouteRule, ruleOf } from './route-rules.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The server's AuthGuard; null when authentication is off. Set by the auth plugin. */
    cairnAuth: AuthGuard | null;
  }
}

export const LOGIN_PATH = '/v1/auth/login';
export const WHOAMI_PATH = '/v1/auth/me';

const loginBodySchema = z
  .object({ username: z.string().min(1).max(64), password: z.string().min(1).max(1024) })
  .strict();

/** The auth guard a server runs with, or null when authentication is off (or no auth plugin is registered). */
export function authGuardOf(app: FastifyInstance): AuthGuard | null {
  return app.hasDecorator('cairnAuth') ? app.cairnAuth : null;
}

/**
 * Authentication and per-namespace authorization for every route of a server, as one plugin: a
 * zone replica's and the federation's. Register it at the root, before every other plugin:
 * `await app.register(createAuthPlugin(auth))` (`auth` null: off, every request allowed).
 *
 * With auth on, every request is classified (route-rules.ts): open routes pass; routes that check
 * for themselves (the Nacos API, push sockets) use the AuthGuard decorated as `app.cairnAuth`; every
 * other route is checked here: once at `onRequest` (bad credentials, or none where anonymous callers
 * may do nothing, are refused before a body is read), and at `preHandler`, after the route has parsed
 * its input, for the role on the namespaces it touches. Logins (`POST /v1/auth/login`, and the Nacos
 * ones) share one per-IP rate limit.
 */
export function createAuthPlugin(auth: AuthConfig | null): FastifyPluginAsync {
  return fp(
    async (app) => {
      if (!auth) {
        app.decorate('cairnAuth', null);
        authOffRoutes(app);
        return;
      }
      const guard = new AuthGuard(auth, app.log);
      app.decorate('cairnAuth', guard);
      for (const warning of auth.warnings) app.log.warn({ authFile: auth.source }, `auth: ${warning}`);
      app.log.info(
        { authFile: auth.source, users: auth.users.size, tokens: auth.tokens.length, metricsAuth: auth.metricsAuth },
        'auth: on',
      );

      await app.register(rateLimit, { global: false });
      // One limiter (one store) for every login route, so the Nacos logins do not multiply the budget.
      const limitLogins = app.rateLimit({
        max: auth.loginRateLimit.max,
        timeWindow: auth.loginRateLimit.windowMs,
        onExceeded: (req) => guard.rateLimited(req),
        errorResponseBuilder: (_req, ctx) =>
          new CairnError('RATE_LIMITED', `too many sign-in attempts from this address; retry in ${ctx.after}`),
      }) as unknown as onRequestHookHandler;
      guard.limitLogins = limitLogins;

      const rules = new WeakMap<FastifyRequest, RouteRule>();
      app.addHook('onRequest', async (req) => {
        const rule = ruleOf(req, auth);
        rules.set(req, rule);
        if (rule.kind !== 'check' || (req.raw.url ?? '').startsWith('/nacos/')) return;
        // Refused before any body is read: credentials that do not hold, or none where anonymous may do nothing.
        if (guard.presentsCredentialsEarly(req)) await guard.identify(req, rule.surface);
        else if (auth.anonymous.length === 0) await guard.authorize(req, rule.surface, rule.action, []);
      });
      app.addHook('preHandler', async (req) => {
        const rule = rules.get(req) ?? ruleOf(req, auth);
        if (rule.kind === 'check') await guard.authorize(req, rule.surface, rule.action, rule.namespaces(req));
      });

      app.post(
        LOGIN_PATH,
        { config: { auth: 'open' }, onRequest: limitLogins, bodyLimit: 16 * 1024 },
        async (req, reply) => {
          const body = loginBodySchema.parse(req.body ?? {});
          const login = await guard.login(req, body.username, body.password);
          return reply.header('cache-control', 'no-store').send({
            accessToken: login.accessToken,
            tokenType: 'Bearer',
            expiresInS: login.expiresInS,
            username: login.identity.name,
          });
        },
      );
      app.get(WHOAMI_PATH, { config: { auth: 'open' } }, async (req) => {
        const identity = await guard.identify(req, 'login');
        return { enabled: true, identity: { kind: identity.kind, name: identity.name, roles: identity.roles } };
      });
    },
    { name: 'cairn-auth', fastify: '5.x' },
  );
}

/** With auth off nobody logs in; `me` says so, for the admin UI and `cairn ctl`. */
function authOffRoutes(app: FastifyInstance): void {
  app.post(LOGIN_PATH, { config: { auth: 'open' } }, async () => {
    throw new CairnError('NOT_FOUND', 'authentication is off on this server: requests need no login');
  });
  app.get(WHOAMI_PATH, { config: { auth: 'open' } }, async () => ({
    enabled: false,
    identity: { kind: 'anonymous', name: 'anonymous', roles: [{ namespace: '*', role: 'admin' }] },
  }));
}

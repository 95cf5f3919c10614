import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { RouteAccess } from '../api/native/access-control.js';
import { CairnError } from '../errors.js';

/**
 * The admin UI at /ui/: static HTML and CSS from `packages/server/ui/public`, and the browser code
 * compiled from `packages/server/ui/src` to `packages/server/dist/ui` (ES modules, no bundler),
 * served at /ui/js/. The page itself finds out whether it runs on a zone server or on the federation
 * and talks to the REST API and the watch of the server that served it. Client-side routes live in
 * the URL's hash, so no index fallback is needed.
 *
 * The same function is a zone server ApiPlugin and a FederationPlugin: it needs nothing from either.
 */

export const UI_PREFIX = '/ui';

/** The page and its scripts are public: the page must load before anyone can sign in. */
const UI_ACCESS: RouteAccess = { resource: 'docs', action: 'read', public: true };

/** Unversioned file names: browsers revalidate each time (ETag / Last-Modified make that a 304). */
const CACHE_CONTROL = 'no-cache';

/** The page loads only what this server serves; it connects only back to it (REST and WebSocket). */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export interface AdminUiOptions {
  /** The folder holding index.html and styles.css (default: packages/server/ui/public). */
  readonly publicDir?: string;
  /** The folder holding the compiled browser modules (default: packages/server/dist/ui). */
  readonly scriptsDir?: string;
}

export type UiMode = 'federation' | 'zone';

export function createAdminUi(options: AdminUiOptions = {}): (app: FastifyInstance, host: object) => Promise<void> {
  // This file runs from packages/server/dist/src/ui/.
  const publicDir = options.publicDir ?? fileURLToPath(new URL('../../../ui/public/', import.meta.url));
  const scriptsDir = options.scriptsDir ?? fileURLToPath(new URL('../../ui/', import.meta.url));
  return async (app, host) => {
    // A zone server passes its registry, the federation its merged view: the page asks which one
    // served it (`GET /ui/context.json`).
    const mode: UiMode = 'view' in host ? 'federation' : 'zone';
    app.addHook('onRoute', (route) => {
      route.config = { ...(route.config ?? {}), access: UI_ACCESS };
    });
    app.addHook('onSend', async (_req, reply, payload) => {
      setSecurityHeaders(reply);
      return payload;
    });
    if (!existsSync(`${publicDir}/index.html`) || !existsSync(`${scriptsDir}/main.js`)) {
      app.log.warn({ publicDir, scriptsDir }, 'the admin UI is not built; /ui answers 503 (run `npx tsc -b`)');
      const notBuilt = async (): Promise<never> => {
        throw new CairnError('UNAVAILABLE', 'the admin UI is not built on this server: run `npx tsc -b` and restart');
      };
      app.get(UI_PREFIX, notBuilt);
      app.get(`${UI_PREFIX}/*`, notBuilt);
      return;
    }
    app.get(`${UI_PREFIX}/context.json`, async (_req, reply) => {
      reply.header('cache-control', 'no-store');
      return { mode };
    });
    const common = {
      cacheControl: false,
      etag: true,
      lastModified: true,
      dotfiles: 'deny',
      setHeaders: (reply: FastifyReply) => {
        reply.header('cache-control', CACHE_CONTROL);
      },
    } as const;
    await app.register(fastifyStatic, {
      ...common,
      root: publicDir,
      prefix: UI_PREFIX,
      // /ui answers with a redirect to /ui/, so relative URLs in the page resolve under it.
      redirect: true,
      index: ['index.html'],
    });
    await app.register(fastifyStatic, {
      ...common,
      root: scriptsDir,
      prefix: `${UI_PREFIX}/js/`,
      decorateReply: false,
      index: false,
      // The compiled folder also holds declarations and build info: only modules and their maps are served.
      allowedPath: (path) => path.endsWith('.js') || path.endsWith('.js.map'),
    });
    // A person typing the server's address lands on the UI, unless another surface owns `/`.
    if (!app.hasRoute({ method: 'GET', url: '/' })) {
      app.get('/', async (_req, reply) => reply.redirect(`${UI_PREFIX}/`, 302));
    }
  };
}

function setSecurityHeaders(reply: FastifyReply): void {
  reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
  reply.header('x-content-type-options', 'nosniff');
  reply.header('referrer-policy', 'no-referrer');
  reply.header('x-frame-options', 'DENY');
}

/** The admin UI as registered by zone servers and by the federation. */
export const adminUi = createAdminUi();

import { authGuardOf } from '../../auth/auth-plugin.js';
import type { ApiPlugin } from '../../server/zone-server.js';
import { quotaOf } from '../limits/registry-quota.js';
import { serverLimitsOf } from '../limits/server-limits.js';
import { writeGuardOf } from '../limits/write-guard.js';
import { authRoutes } from './auth-routes.js';
import { instanceRoutes } from './instance-routes.js';
import type { NacosAuthorizer, NacosContext } from './nacos-context.js';
import { installNacosParsing, nacosErrorHandler } from './nacos-reply.js';
import { namespaceRoutes } from './namespace-routes.js';
import { operatorRoutes } from './operator-routes.js';
import { serviceRoutes } from './service-routes.js';
import { DEFAULT_UDP_PUSH, UdpPusher, type UdpPushOptions } from './udp-push.js';

export interface NacosApiOptions {
  /** UDP push settings (tests shorten the timers). */
  readonly push?: Partial<UdpPushOptions>;
  /** `cacheMillis` in `instance/list` answers (Nacos 2.x: 10 s). */
  readonly cacheMillis?: number;
  /**
   * Runs before every handler once the request's namespace is known; throw to refuse. By default the
   * server's auth guard (auth-plugin.ts) decides, and everything is allowed when auth is off.
   */
  readonly authorize?: NacosAuthorizer;
}

/** Nacos's default clientBeatInterval (SwitchDomain), answered when an instance sets none. */
const CLIENT_BEAT_INTERVAL_MS = 5000;

/**
 * The Nacos v1 Open API (naming, console namespaces, login, operator metrics) under `/nacos/v1`, so
 * Nacos clients and gateways use cairn unchanged. Everything in this scope speaks Nacos: parameters
 * from the query string or a form body, plain-text errors, `ok` for writes. Writes go through Raft
 * (`registry.execute`), beats renew leases (`registry.renew`), reads come from this replica's state.
 */
export function createNacosApi(options: NacosApiOptions = {}): ApiPlugin {
  return async (app, { registry, config }) => {
    installNacosParsing(app);
    app.setErrorHandler(nacosErrorHandler('nacos request failed'));
    const pushOptions: UdpPushOptions = { ...DEFAULT_UDP_PUSH, ...options.push };
    const bindHost = config.listen.slice(0, config.listen.lastIndexOf(':')).replace(/^\[(.*)\]$/, '$1');
    const pusher = await UdpPusher.start(registry, bindHost, pushOptions, app.log);
    app.addHook('onClose', async () => pusher.close());
    // Every route here checks in its handler (where Nacos credentials in a form body are readable).
    app.addHook('onRoute', (route) => {
      route.config = { ...route.config, auth: 'self' };
    });
    const guard = authGuardOf(app);
    const authorize: NacosAuthorizer | undefined =
      options.authorize ??
      (guard
        ? async (req, access) => void (await guard.authorize(req, 'nacos', access.action, [access.namespace]))
        : undefined);
    const ctx: NacosContext = {
      registry,
      config,
      pusher,
      cacheMillis: options.cacheMillis ?? pushOptions.cacheMillis,
      clientBeatIntervalMs: CLIENT_BEAT_INTERVAL_MS,
      authorize: async (req, access) => {
        if (authorize) await authorize(req, access);
      },
      quota: quotaOf(registry, serverLimitsOf(config)),
      admitWrite: async (req, reply) => {
        await writeGuardOf(app)?.admit(req, reply);
      },
    };
    await instanceRoutes(app, ctx);
    await serviceRoutes(app, ctx);
    await namespaceRoutes(app, ctx);
    await authRoutes(app, ctx);
    await operatorRoutes(app, ctx);
  };
}

/** The plugin with Nacos's defaults, as the zone server registers it. */
export const nacosApi: ApiPlugin = createNacosApi();

import { installNacosParsing, nacosErrorHandler } from '../../api/nacos/nacos-reply.js';
import type { FederationPlugin } from '../federation-plugin.js';
import { consoleReads } from './console-reads.js';
import { instanceReads } from './instance-reads.js';
import { nacosLogin } from './nacos-login.js';
import { readOnlyRoutes } from './read-only.js';
import { serviceReads } from './service-reads.js';

export interface FederationNacosOptions {
  /**
   * `cacheMillis` in `instance/list` answers: how long clients wait before polling again. Short,
   * since the federation does not push over UDP (Nacos clients never poll faster than 1 s anyway).
   */
  readonly cacheMillis?: number;
}

export const DEFAULT_FEDERATION_CACHE_MILLIS = 1000;

/**
 * Nacos v1 reads over the merged view, under `/nacos/v1`, so a gateway that speaks Nacos (Higress,
 * Spring Cloud Gateway, the Nacos clients) consumes the federation unchanged: instance/list and
 * instance detail (hosts of every serving zone, weight = effective weight, metadata `cairn.zone`
 * and `cairn.stale`), service detail and list, the console's catalog and namespaces, operator
 * metrics, login (real with an auth file, see nacos-login.ts; reads then need `read` on
 * `namespaceId`, checked by the auth plugin). Writes are refused (405, or 403 first to callers
 * without `write`): registration goes to a zone registry. Parameters, names,
 * JSON and errors as the zone's Nacos API (its pure helpers in api/nacos are reused). Everything
 * lives in its own scope, so its parsers and error handler touch no other route.
 */
export function createFederationNacosApi(options: FederationNacosOptions = {}): FederationPlugin {
  const cacheMillis = options.cacheMillis ?? DEFAULT_FEDERATION_CACHE_MILLIS;
  if (!Number.isInteger(cacheMillis) || cacheMillis <= 0) throw new Error('federation nacos: cacheMillis must be > 0');
  return async (app, { view }) => {
    await app.register(async (scope) => {
      installNacosParsing(scope);
      scope.setErrorHandler(nacosErrorHandler('federation nacos request failed'));
      await instanceReads(scope, view, cacheMillis);
      await serviceReads(scope, view);
      await consoleReads(scope, view);
      await nacosLogin(scope);
      await readOnlyRoutes(scope);
    });
  };
}

/** The Nacos reads with their defaults, as the federation registers them. */
export const federationNacosApi: FederationPlugin = createFederationNacosApi();

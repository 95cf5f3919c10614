import { adminUi } from '../ui/admin-ui-plugin.js';
import type { FederationPlugin } from './federation-plugin.js';
import { federationNacosApi } from './nacos/federation-nacos-plugin.js';
import { federationWatchApi } from './watch/federation-watch-plugin.js';

/** Every API surface the federation serves beyond health, in registration order. */
export const FEDERATION_PLUGINS: readonly FederationPlugin[] = [federationWatchApi, federationNacosApi, adminUi];

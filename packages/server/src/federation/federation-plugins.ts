import type { FederationPlugin } from './federation-plugin.js';

/** Every API surface the federation serves beyond health, in registration order. */
export const FEDERATION_PLUGINS: readonly FederationPlugin[] = [];

import type { ApiPlugin } from './zone-server.js';

/** Every API surface a zone server serves beyond health and peer links, in registration order. */
export const ZONE_API_PLUGINS: readonly ApiPlugin[] = [];

import { nacosApi } from '../api/nacos/nacos-plugin.js';
import { nativeApi } from '../api/native/native-api.js';
import { pushApi } from '../api/watch/push-plugin.js';
import { metricsPlugin } from '../metrics/metrics-plugin.js';
import { adminUi } from '../ui/admin-ui-plugin.js';
import type { ApiPlugin } from './zone-server.js';

/** Every API surface a zone server serves beyond health and peer links, in registration order. */
export const ZONE_API_PLUGINS: readonly ApiPlugin[] = [nativeApi, nacosApi, metricsPlugin, pushApi(), adminUi];

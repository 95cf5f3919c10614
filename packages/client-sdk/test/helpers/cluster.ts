// Real `cairn server` processes for the SDK's integration tests, through the server package's own
// helper (compiled to packages/server/dist/test/helpers/zone-cluster.js), so there is one way of
// starting zones in this repository.
import type * as ZoneClusterModule from '../../../server/test/helpers/zone-cluster.js';

export type { ZoneCluster } from '../../../server/test/helpers/zone-cluster.js';

const helperUrl = new URL('../../../../server/dist/test/helpers/zone-cluster.js', import.meta.url);

export const zoneCluster: typeof ZoneClusterModule = await import(helperUrl.href);

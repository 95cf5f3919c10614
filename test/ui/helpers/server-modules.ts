// The server's modules, loaded from its compiled output at run time. This project's compiled files
// live in test/dist/, so a static relative import of ../../packages/... would not resolve there; the
// types still come from the source (through the project reference), the code from packages/server/dist.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

type ZoneServerModule = typeof import('../../../packages/server/src/server/zone-server.js');
type ServerConfigModule = typeof import('../../../packages/server/src/config/server-config.js');
type ApiPluginsModule = typeof import('../../../packages/server/src/server/api-plugins.js');
type ZoneClusterModule = typeof import('../../../packages/server/test/helpers/zone-cluster.js');
type FederationServerModule = typeof import('../../../packages/server/src/federation/federation-server.js');
type FederationConfigModule = typeof import('../../../packages/server/src/federation/config/federation-config.js');
type SharePreviewModule = typeof import('../../../packages/server/ui/src/share-preview.js');

/** The repository root: this file runs from test/dist/ui/helpers/. */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const SERVER_DIST = join(REPO_ROOT, 'packages/server/dist');

if (!existsSync(join(REPO_ROOT, 'packages/server/package.json'))) {
  throw new Error(`test/ui helpers: ${REPO_ROOT} is not the repository root`);
}

async function load<T>(relative: string): Promise<T> {
  return (await import(pathToFileURL(join(SERVER_DIST, relative)).href)) as T;
}

export const zoneServerModule = (): Promise<ZoneServerModule> => load('src/server/zone-server.js');
export const serverConfigModule = (): Promise<ServerConfigModule> => load('src/config/server-config.js');
export const apiPluginsModule = (): Promise<ApiPluginsModule> => load('src/server/api-plugins.js');
export const zoneClusterModule = (): Promise<ZoneClusterModule> => load('test/helpers/zone-cluster.js');
export const sharePreviewModule = (): Promise<SharePreviewModule> => load('ui/share-preview.js');

/** The federation server, or null (with the reason) while it is not built. */
export async function federationModules(): Promise<
  { server: FederationServerModule; config: FederationConfigModule } | { missing: string }
> {
  for (const f of ['src/federation/federation-server.js', 'src/federation/config/federation-config.js']) {
    if (!existsSync(join(SERVER_DIST, f))) return { missing: `packages/server/dist/${f} is not built yet` };
  }
  return {
    server: await load<FederationServerModule>('src/federation/federation-server.js'),
    config: await load<FederationConfigModule>('src/federation/config/federation-config.js'),
  };
}

import { startApp } from './app.js';
import type { Backend, MergeMode, ZoneStatus } from './backend.js';
import { type ClusterStatus, isClusterStatus } from './cluster-status.js';
import { learnZones, problem } from './components.js';
import { render } from './dom.js';
import { FederationBackend } from './federation-backend.js';
import { ApiError, api, errorText, isRecord, onUnauthenticated } from './http.js';
import { requireSignIn } from './login.js';
import { ZoneBackend } from './zone-backend.js';

/**
 * Entry point. Finds out where the UI runs: the federation answers `GET /v1/zones` with its merge
 * mode; a zone server answers `GET /v1/cluster`. Any 401 on the way opens the sign-in form.
 */

onUnauthenticated(requireSignIn);
wireSkipLink();
void boot();

async function boot(): Promise<void> {
  const main = document.getElementById('main');
  try {
    startApp(await detect());
  } catch (err) {
    if (main)
      render(
        main,
        problem(`The cairn server could not be reached. ${errorText(err)}`, () => void boot()),
      );
  }
}

async function detect(): Promise<Backend> {
  const mode = await whereAmI();
  if (mode === 'federation') {
    const answer = await api<{ revision: number; mergeMode: MergeMode; zones: readonly ZoneStatus[] }>(
      'GET',
      '/v1/zones',
    );
    learnZones(answer.zones.map((z) => z.zone));
    return new FederationBackend(answer);
  }
  const self = await api<ClusterStatus>('GET', '/v1/cluster');
  if (!isClusterStatus(self)) throw new Error('GET /v1/cluster answered something that is not a zone status');
  learnZones([self.zone]);
  return new ZoneBackend(self);
}

/**
 * The server that served the page says what it is. Without that answer: the federation is the one
 * that answers `GET /v1/zones` with a merge mode.
 */
async function whereAmI(): Promise<'federation' | 'zone'> {
  try {
    const context = await api<unknown>('GET', 'context.json');
    if (isRecord(context) && (context['mode'] === 'federation' || context['mode'] === 'zone')) return context['mode'];
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err;
  }
  try {
    const zones = await api<unknown>('GET', '/v1/zones');
    if (isRecord(zones) && typeof zones['mergeMode'] === 'string') return 'federation';
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err;
  }
  return 'zone';
}

/** "Skip to content" moves focus to <main> without touching the hash (routes live there). */
function wireSkipLink(): void {
  const skip = document.getElementById('skip');
  skip?.addEventListener('click', () => document.getElementById('main')?.focus());
}

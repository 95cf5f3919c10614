// A fastify app on 127.0.0.1 serving federation plugins over a (static) view, set up the way
// startFederationServer does it: @fastify/websocket and the error handler on the app, each plugin
// in its own scope. Also used by ../nacos tests.
import websocket from '@fastify/websocket';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { installErrorHandler } from '../../../src/api/error-handler.js';
import type { FederatedView } from '../../../src/federation/federated-view.js';
import type { FederationPlugin } from '../../../src/federation/federation-plugin.js';

export interface FederationTestApp {
  readonly app: FastifyInstance;
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** ws://127.0.0.1:PORT */
  readonly wsUrl: string;
  close(): Promise<void>;
}

export async function startFederationTestApp(
  view: FederatedView,
  plugins: readonly FederationPlugin[],
  nodeId = 'fed-test',
): Promise<FederationTestApp> {
  const app = Fastify({ logger: false });
  installErrorHandler(app);
  await app.register(websocket);
  const logger = pino({ level: 'silent' });
  for (const plugin of plugins) await app.register(async (scope) => plugin(scope, { view, nodeId, logger }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  let closed = false;
  return {
    app,
    url: `http://127.0.0.1:${address.port}`,
    wsUrl: `ws://127.0.0.1:${address.port}`,
    close: async () => {
      if (closed) return;
      closed = true;
      await app.close();
    },
  };
}

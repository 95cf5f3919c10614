import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { FederatedView } from './federated-view.js';

/** What a federation API surface gets: the merged view and who it runs as. */
export interface FederationPluginContext {
  readonly view: FederatedView;
  /** This federation node's id (defaults to host:port it listens on). */
  readonly nodeId: string;
  readonly logger: Logger;
}

/** One API surface of the federation (REST, watch, Nacos reads, admin UI, metrics...). */
export type FederationPlugin = (app: FastifyInstance, ctx: FederationPluginContext) => Promise<void>;

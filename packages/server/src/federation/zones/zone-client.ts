import type { Logger } from 'pino';
import { Agent, type Dispatcher } from 'undici';
import type { ClientOptions } from 'ws';
import { readCaFile, TlsFileError } from '../../tls/tls-material.js';

export interface ZoneClientOptions {
  /** Presented to the zones as `Authorization: Bearer` (watches and cluster reads); none when absent. */
  readonly token?: string | undefined;
  /** PEM CA bundle the zones' certificates are checked against; absent: Node's trusted roots. */
  readonly caFile?: string | undefined;
  readonly logger: Logger;
}

/** How long a zone has to accept a connection (HTTP calls; the watchers have their own timeout). */
const CONNECT_TIMEOUT_MS = 2000;
/** Connections kept per replica origin for forwarded actions and cluster reads. */
const CONNECTIONS_PER_ORIGIN_MAX = 64;

/**
 * How a federation node reaches its zones: the zone token it presents (`--zone-token`, for auth-on
 * zones) and the CA it trusts for https/wss replicas (`--zone-ca`). One place for the watchers' `ws`
 * sockets and the undici dispatcher of forwarded actions, cluster reads and readiness probes.
 * `reload()` (SIGHUP) re-reads the CA; new connections use it, open ones keep theirs.
 */
export class ZoneClient {
  private ca: Buffer | undefined;
  private agent: Agent;
  private closed = false;

  private constructor(
    private readonly opts: ZoneClientOptions,
    ca: Buffer | undefined,
  ) {
    this.ca = ca;
    this.agent = this.newAgent();
  }

  /** Reads the CA file, if any; throws TlsFileError naming it when it cannot be used. */
  static load(opts: ZoneClientOptions): ZoneClient {
    const client = new ZoneClient(opts, opts.caFile === undefined ? undefined : readCaFile(opts.caFile));
    if (opts.caFile !== undefined) opts.logger.info({ zoneCa: opts.caFile }, 'zones are verified against --zone-ca');
    return client;
  }

  /** Whether a token is presented to the zones. */
  get hasToken(): boolean {
    return this.opts.token !== undefined;
  }

  /** The headers that present the zone token (empty without one). */
  authHeaders(): Record<string, string> {
    return this.opts.token === undefined ? {} : { authorization: `Bearer ${this.opts.token}` };
  }

  /** Options for a watcher's socket: the token and the CA. */
  socketOptions(): Pick<ClientOptions, 'headers' | 'ca'> {
    return { headers: this.authHeaders(), ...(this.ca ? { ca: this.ca } : {}) };
  }

  /** The dispatcher for HTTP calls to the zones (forwarded actions, cluster reads, readiness). */
  dispatcher(): Dispatcher {
    return this.agent;
  }

  /** Re-reads the CA file; on failure logs it and keeps the previous one. Returns whether it was taken. */
  reload(): boolean {
    if (this.closed || this.opts.caFile === undefined) return false;
    try {
      this.ca = readCaFile(this.opts.caFile);
    } catch (err) {
      this.opts.logger.error(
        {
          err: err instanceof Error ? err.message : String(err),
          file: err instanceof TlsFileError ? err.file : undefined,
        },
        'zone CA reload failed: still trusting the previous one',
      );
      return false;
    }
    const old = this.agent;
    this.agent = this.newAgent();
    void old.close().catch(() => {});
    this.opts.logger.info({ zoneCa: this.opts.caFile }, 'zone CA reloaded');
    return true;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.agent.close().catch(() => {});
  }

  private newAgent(): Agent {
    return new Agent({
      connect: { timeout: CONNECT_TIMEOUT_MS, ...(this.ca ? { ca: this.ca } : {}) },
      keepAliveTimeout: 10_000,
      connections: CONNECTIONS_PER_ORIGIN_MAX,
    });
  }
}

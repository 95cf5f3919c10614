import type { ServerOptions as HttpsServerOptions } from 'node:https';
import type { SecureContextOptions } from 'node:tls';
import type { PeerTlsOptions } from '@cairn/raft';
import type { Logger } from 'pino';
import { Agent } from 'undici';
import type { ReplicaDialer } from './replica-dialer.js';
import { readTlsMaterial, TlsFileError, type TlsFiles, type TlsMaterial } from './tls-material.js';

export interface ZoneTlsOptions extends TlsFiles {
  /** Replicas present their certificates to each other and require one on replica routes. */
  readonly peerMtls: boolean;
  readonly logger: Logger;
}

/** What a replica needs of the HTTPS server it serves on: swapping the certificate in place. */
interface SecureServer {
  setSecureContext(options: SecureContextOptions): void;
}

/** Connections kept per replica for internal HTTP calls (renewals, the check view). */
const REPLICA_CONNECTIONS_MAX = 4;

/**
 * A replica's TLS: the certificate it serves on its one port (clients, the admin UI and peer
 * links), and the trust and identity it dials the other replicas with. Both follow the files:
 * `reload()` (on SIGHUP) re-reads them and swaps the server's context and the dialer's settings in
 * place; new connections use the new certificate, open ones keep theirs. Files that do not check out
 * leave everything as it was.
 *
 * Under mutual TLS the server asks every client for a certificate but lets the handshake succeed
 * without one: API clients (SDK, curl, browsers) need none. The replica-only routes refuse a request
 * whose certificate the CA did not sign (see peer-certificate.ts).
 */
export class ZoneTls {
  readonly peerMtls: boolean;
  readonly dialer: ReplicaDialer;
  private readonly files: TlsFiles;
  private readonly log: Logger;
  private current: TlsMaterial;
  private agent: Agent;
  private server: SecureServer | null = null;
  private closed = false;

  private constructor(options: ZoneTlsOptions, material: TlsMaterial) {
    this.files = { certFile: options.certFile, keyFile: options.keyFile, caFile: options.caFile };
    this.peerMtls = options.peerMtls;
    this.log = options.logger;
    this.current = material;
    this.agent = this.newAgent();
    this.dialer = {
      secure: true,
      url: (address, path) => `https://${address}${path}`,
      dispatcher: () => this.agent,
      peerTls: () => this.dialOptions(),
    };
  }

  /** Reads and checks the files; throws TlsFileError naming the file at fault. */
  static load(options: ZoneTlsOptions): ZoneTls {
    if (options.peerMtls && options.caFile === undefined) {
      throw new TlsFileError('--tls-ca', 'mutual TLS between replicas needs the CA that signs their certificates');
    }
    const tls = new ZoneTls(options, readTlsMaterial(options));
    tls.log.info({ ...tls.describe(), peerMtls: tls.peerMtls }, 'TLS enabled');
    tls.warnIfExpired();
    return tls;
  }

  get material(): TlsMaterial {
    return this.current;
  }

  /** Fastify's `https` option. */
  serverOptions(): HttpsServerOptions {
    return {
      ...this.contextOptions(),
      minVersion: 'TLSv1.2',
      // Asked of everyone under mutual TLS, required of no one at the TLS layer: only the replica
      // routes look at it, so API clients need no certificate.
      requestCert: this.peerMtls,
      rejectUnauthorized: false,
    };
  }

  /** The HTTPS server `reload()` swaps the certificate of. */
  attach(server: object): void {
    if (!('setSecureContext' in server) || typeof server.setSecureContext !== 'function') {
      throw new TypeError('ZoneTls.attach: the server does not serve TLS (no setSecureContext)');
    }
    this.server = server as SecureServer;
  }

  /**
   * Re-reads the files. On success the server serves the new certificate to new connections and
   * new dials use the new settings; on failure the error is logged and nothing changes. Returns
   * whether the new files were taken.
   */
  reload(): boolean {
    if (this.closed) return false;
    let next: TlsMaterial;
    try {
      next = readTlsMaterial(this.files);
    } catch (err) {
      const file = err instanceof TlsFileError ? err.file : undefined;
      this.log.error(
        { err: err instanceof Error ? err.message : String(err), file, fingerprint256: this.current.fingerprint256 },
        'TLS reload failed: still serving the previous certificate',
      );
      return false;
    }
    const previous = this.current.fingerprint256;
    try {
      this.server?.setSecureContext({ cert: next.cert, key: next.key, ...(next.ca ? { ca: next.ca } : {}) });
    } catch (err) {
      this.log.error(
        { err: err instanceof Error ? err.message : String(err), fingerprint256: previous },
        'TLS reload failed: still serving the previous certificate',
      );
      return false;
    }
    this.current = next;
    const old = this.agent;
    this.agent = this.newAgent();
    // Requests in flight finish on the old agent; close() waits for them.
    void old.close().catch(() => {});
    this.log.info({ ...this.describe(), previousFingerprint256: previous }, 'TLS certificates reloaded');
    this.warnIfExpired();
    return true;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.agent.close().catch(() => {});
  }

  private contextOptions(): SecureContextOptions {
    const m = this.current;
    return { cert: m.cert, key: m.key, ...(m.ca ? { ca: m.ca } : {}) };
  }

  /** How this replica dials another: trusting the CA, and presenting its own certificate under mutual TLS. */
  private dialOptions(): PeerTlsOptions {
    const m = this.current;
    return { ...(m.ca ? { ca: m.ca } : {}), ...(this.peerMtls ? { cert: m.cert, key: m.key } : {}) };
  }

  private newAgent(): Agent {
    return new Agent({ connect: this.dialOptions(), connections: REPLICA_CONNECTIONS_MAX });
  }

  private describe(): Record<string, unknown> {
    const m = this.current;
    return { subject: m.subject, fingerprint256: m.fingerprint256, validTo: m.validTo, certFile: this.files.certFile };
  }

  private warnIfExpired(): void {
    if (this.current.expired) {
      this.log.warn(
        this.describe(),
        'the TLS certificate is outside its validity period: peers and clients will refuse it',
      );
    }
  }
}

/** The TLS settings of a replica's configuration (all files, or none). */
export interface TlsSettings {
  readonly tlsCert?: string | undefined;
  readonly tlsKey?: string | undefined;
  readonly tlsCa?: string | undefined;
  readonly peerMtls: boolean;
}

/** A replica's TLS from its settings, or null for a plaintext replica; throws TlsFileError for bad files. */
export function loadZoneTls(settings: TlsSettings, logger: Logger): ZoneTls | null {
  if (settings.tlsCert === undefined || settings.tlsKey === undefined) return null;
  return ZoneTls.load({
    certFile: settings.tlsCert,
    keyFile: settings.tlsKey,
    caFile: settings.tlsCa,
    peerMtls: settings.peerMtls,
    logger,
  });
}

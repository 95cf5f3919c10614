import type { PeerTlsOptions } from '@cairn/raft';
import type { Dispatcher } from 'undici';

/**
 * How a replica calls the other replicas of its zone: peer WebSocket links (Raft) and internal HTTP
 * routes (forwarded renewals, the check view). A TLS zone's dialer speaks only https and wss, with
 * the zone's CA and, under mutual TLS, the replica's own certificate, so nothing between replicas
 * ever travels in plaintext. Peers' addresses stay host:port; the scheme comes from here.
 */
export interface ReplicaDialer {
  readonly secure: boolean;
  /** The URL of `path` on the replica at `address` (host:port). */
  url(address: string, path: string): string;
  /** The undici dispatcher for calls to replicas; undefined: undici's global one (plaintext zones). */
  dispatcher(): Dispatcher | undefined;
  /** The Raft node's `peerTls` option; undefined in a plaintext zone. */
  readonly peerTls: (() => PeerTlsOptions) | undefined;
}

export const PLAINTEXT_DIALER: ReplicaDialer = {
  secure: false,
  url: (address, path) => `http://${address}${path}`,
  dispatcher: () => undefined,
  peerTls: undefined,
};

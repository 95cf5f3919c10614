/** Bounds on what the DNS server accepts and holds. */
export interface DnsLimits {
  /**
   * The largest UDP answer, whatever a client's EDNS buffer says; also the size advertised in our
   * OPT record. HAProxy asks for 8192 (`accepted_payload_size 8192`); clients without EDNS get 512.
   */
  readonly udpPayloadMaxBytes: number;
  /** A query larger than this (either transport) is dropped, and its TCP connection closed. */
  readonly queryBytesMax: number;
  /** Open TCP connections; more are closed at once. */
  readonly tcpConnectionsMax: number;
  /** A TCP connection idle this long is closed (RFC 7766 suggests seconds, not minutes). */
  readonly tcpIdleTimeoutMs: number;
  /** Answers queued for a TCP client that does not read: past this, reading stops until it drains. */
  readonly tcpWriteBufferMaxBytes: number;
  /** Attempts to find a port free for both UDP and TCP when asked for port 0. */
  readonly bindAttemptsMax: number;
}

export const DEFAULT_DNS_LIMITS: DnsLimits = {
  udpPayloadMaxBytes: 8192,
  queryBytesMax: 4096,
  tcpConnectionsMax: 256,
  tcpIdleTimeoutMs: 10_000,
  tcpWriteBufferMaxBytes: 1 << 20,
  bindAttemptsMax: 20,
};

/** Plain DNS over UDP (RFC 1035); also the floor for EDNS buffer sizes (RFC 6891). */
export const UDP_PLAIN_BYTES = 512;

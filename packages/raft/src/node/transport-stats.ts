/** Counters a transport keeps for status pages and tests. Only ever incremented. */
export class TransportCounters {
  framesSent = 0;
  framesReceived = 0;
  /** Inbound frames refused: not binary, malformed, or from a socket that is being replaced. */
  framesDropped = 0;
  messagesSent = 0;
  messagesReceived = 0;
  /** Messages lost on purpose: a full queue, an unknown peer, a dead link, a spoofed `from`, too large. */
  messagesDropped = 0;
  /** Upgrade requests refused (bad MAC, stale timestamp, not a member). */
  upgradesRefused = 0;
  /** Outbound links opened (including reconnections). */
  linksOpened = 0;
}

export interface PeerLinkStatus {
  readonly address: string;
  /** The outbound link is open. */
  readonly connected: boolean;
  /** Messages waiting for the link. */
  readonly queued: number;
  /** A socket from this peer is accepted. */
  readonly inbound: boolean;
}

export interface TransportStats {
  readonly framesSent: number;
  readonly framesReceived: number;
  readonly framesDropped: number;
  readonly messagesSent: number;
  readonly messagesReceived: number;
  readonly messagesDropped: number;
  readonly upgradesRefused: number;
  readonly linksOpened: number;
  readonly peers: Readonly<Record<string, PeerLinkStatus>>;
}

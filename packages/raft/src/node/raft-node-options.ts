/**
 * Options of `createRaftNode`, their defaults, and their validation. Everything the node bounds
 * (queues, frames, pending requests) is derived here, once, so the rest of the node trusts its input.
 */
import type { Logger } from 'pino';
import { DEFAULT_RAFT_CONFIG, type NodeId, type RaftConfig, type RandomSource } from '../core/types.js';
import type { PeerTlsOptions } from './peer-link.js';
import type { StateMachine } from './state-machine.js';

export interface RaftNodeOptions {
  /** This node's id: 1-64 characters of [A-Za-z0-9._-], starting with a letter or digit. */
  readonly id: NodeId;
  /**
   * The initial voters, including this node, with their "host:port" peer addresses. Used when the
   * data directory is new; afterwards the directory's own record wins. `{}` (or omitted) to join.
   */
  readonly peers?: Readonly<Record<NodeId, string>>;
  /** Start with no configuration and wait to be added by the cluster's leader (`addMember`). */
  readonly join?: boolean;
  /** "host:port" at which peers reach this node. Defaults to `peers[id]`; needed when joining. */
  readonly advertiseAddress?: string;
  readonly dataDir: string;
  /** Shared by every member; authenticates peer links. At least 16 bytes. */
  readonly clusterSecret: string | Uint8Array;
  readonly stateMachine: StateMachine;
  readonly tickMs?: number;
  readonly electionTicks?: number;
  readonly heartbeatTicks?: number;
  /** Take a snapshot and compact the log once this many entries were applied since the last one. */
  readonly snapshotEntries?: number;
  /** Most bytes of entries in one append; also the largest accepted proposal. */
  readonly maxMsgBytes?: number;
  readonly maxInflightMsgs?: number;
  /** Largest peer frame, sent or accepted. Defaults to 8x the largest message payload plus slack. */
  readonly maxFrameBytes?: number;
  /** Proposals, reads and transfers waiting at once; more are refused. */
  readonly maxPendingRequests?: number;
  /** Messages queued per peer while its link is slow or down; more are dropped. */
  readonly maxQueuedMessagesPerPeer?: number;
  /** URL path of the peer endpoint on the peer server. */
  readonly peerPath?: string;
  /**
   * Dial peers over TLS (`wss://`) with the options this returns: the CA to trust and, for mutual
   * TLS, this node's certificate and key. Called at every dial, so certificates reloaded by the
   * caller take effect on the next link. Omitted: plain `ws://`. The server the node is attached to
   * owns the accepting side (and any client-certificate requirement).
   */
  readonly peerTls?: () => PeerTlsOptions;
  /** Further core settings (pre-vote, check-quorum, bounds). `plantedBugs` is refused. */
  readonly raft?: Partial<Omit<RaftConfig, 'id' | 'random'>>;
  readonly logger?: Logger;
  /** Randomness for election timeouts and reconnect jitter (seed it in tests). */
  readonly random?: RandomSource;
}

export interface ResolvedNodeOptions {
  readonly id: NodeId;
  readonly peers: ReadonlyMap<NodeId, string>;
  readonly join: boolean;
  readonly advertiseAddress: string;
  readonly dataDir: string;
  readonly clusterSecret: Uint8Array;
  readonly stateMachine: StateMachine;
  readonly tickMs: number;
  readonly snapshotEntries: number;
  readonly maxFrameBytes: number;
  readonly maxPendingRequests: number;
  readonly maxQueuedMessagesPerPeer: number;
  readonly peerPath: string;
  readonly peerTls: (() => PeerTlsOptions) | undefined;
  /** Everything but `random`, which the node supplies. */
  readonly core: Omit<RaftConfig, 'random'>;
  readonly electionTimeoutMs: number;
}

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** host:port, the host a DNS name, an IPv4 address or a bracketed IPv6 address. */
const ADDRESS_PATTERN = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?):(\d{1,5})$/;
const SECRET_MIN_BYTES = 16;

function fail(message: string): never {
  throw new TypeError(`createRaftNode: ${message}`);
}

export function validNodeId(id: unknown): id is NodeId {
  return typeof id === 'string' && ID_PATTERN.test(id);
}

export function validAddress(address: unknown): address is string {
  if (typeof address !== 'string') return false;
  const m = ADDRESS_PATTERN.exec(address);
  if (m === null) return false;
  const port = Number(m[3]);
  return port >= 1 && port <= 65535;
}

function positiveInt(name: string, value: number | undefined, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < 1 || v > max) fail(`${name} must be an integer in [1, ${max}], got ${v}`);
  return v;
}

export function resolveOptions(o: RaftNodeOptions): ResolvedNodeOptions {
  if (!validNodeId(o.id)) fail(`id ${JSON.stringify(o.id)} must match ${ID_PATTERN}`);
  const join = o.join ?? false;
  const peers = new Map<NodeId, string>();
  for (const [id, address] of Object.entries(o.peers ?? {})) {
    if (!validNodeId(id)) fail(`peer id ${JSON.stringify(id)} must match ${ID_PATTERN}`);
    if (!validAddress(address)) fail(`peer ${id} has address ${JSON.stringify(address)}; expected host:port`);
    peers.set(id, address);
  }
  if (!join && !peers.has(o.id)) fail(`peers must include this node (${o.id}) unless join is set`);
  const advertiseAddress = o.advertiseAddress ?? peers.get(o.id) ?? '';
  if (advertiseAddress !== '' && !validAddress(advertiseAddress)) {
    fail(`advertiseAddress ${JSON.stringify(advertiseAddress)} must be host:port`);
  }
  if (typeof o.dataDir !== 'string' || o.dataDir === '') fail('dataDir is required');
  const clusterSecret =
    typeof o.clusterSecret === 'string' ? new TextEncoder().encode(o.clusterSecret) : o.clusterSecret;
  if (!(clusterSecret instanceof Uint8Array) || clusterSecret.byteLength < SECRET_MIN_BYTES) {
    fail(`clusterSecret must be at least ${SECRET_MIN_BYTES} bytes`);
  }
  const sm = o.stateMachine;
  if (typeof sm?.apply !== 'function' || typeof sm.snapshot !== 'function' || typeof sm.restore !== 'function') {
    fail('stateMachine must implement apply, snapshot and restore');
  }
  if (o.raft?.plantedBugs !== undefined && Object.values(o.raft.plantedBugs).some(Boolean)) {
    fail('raft.plantedBugs is for the simulation harness only; a node refuses to run with planted bugs');
  }

  const tickMs = positiveInt('tickMs', o.tickMs, 100, 60_000);
  const electionTicks = positiveInt('electionTicks', o.electionTicks ?? o.raft?.electionTicks, 10, 10_000);
  const heartbeatTicks = positiveInt('heartbeatTicks', o.heartbeatTicks ?? o.raft?.heartbeatTicks, 1, 10_000);
  if (heartbeatTicks >= electionTicks)
    fail(`heartbeatTicks (${heartbeatTicks}) must be below electionTicks (${electionTicks})`);
  const core: Omit<RaftConfig, 'random'> = {
    ...DEFAULT_RAFT_CONFIG,
    ...o.raft,
    plantedBugs: undefined,
    id: o.id,
    electionTicks,
    heartbeatTicks,
    maxMsgBytes: positiveInt('maxMsgBytes', o.maxMsgBytes ?? o.raft?.maxMsgBytes, DEFAULT_RAFT_CONFIG.maxMsgBytes),
    maxInflightMsgs: positiveInt(
      'maxInflightMsgs',
      o.maxInflightMsgs ?? o.raft?.maxInflightMsgs,
      DEFAULT_RAFT_CONFIG.maxInflightMsgs,
    ),
  };
  for (const key of ['maxUncommittedBytes', 'snapshotChunkBytes', 'maxCommittedPerReady'] as const) {
    positiveInt(`raft.${key}`, core[key], 1);
  }
  const payloadBytes = Math.max(core.maxMsgBytes, core.snapshotChunkBytes);
  // The core bounds an append by its entries' data bytes; per-entry overhead comes on top, hence the slack.
  const maxFrameBytes = positiveInt('maxFrameBytes', o.maxFrameBytes, 8 * payloadBytes + 64 * 1024);
  if (maxFrameBytes < payloadBytes + 64 * 1024) {
    fail(`maxFrameBytes (${maxFrameBytes}) must exceed maxMsgBytes and snapshotChunkBytes by 64 KiB at least`);
  }
  return {
    id: o.id,
    peers,
    join,
    advertiseAddress,
    dataDir: o.dataDir,
    clusterSecret,
    stateMachine: sm,
    tickMs,
    snapshotEntries: positiveInt('snapshotEntries', o.snapshotEntries, 10_000),
    maxFrameBytes,
    maxPendingRequests: positiveInt('maxPendingRequests', o.maxPendingRequests, 10_000),
    maxQueuedMessagesPerPeer: positiveInt('maxQueuedMessagesPerPeer', o.maxQueuedMessagesPerPeer, 4096),
    peerPath: o.peerPath ?? '/raft/peer',
    peerTls: o.peerTls,
    core,
    electionTimeoutMs: tickMs * electionTicks,
  };
}

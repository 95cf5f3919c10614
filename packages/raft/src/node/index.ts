export { CodecError, decodeFrame, encodeFrame, WIRE_VERSION } from './codec.js';
export { LogStore, type LogStoreOptions, type SaveRequest, type StoredState } from './log-store.js';
export { signUpgrade, type UpgradeVerdict } from './peer-auth.js';
export { DEFAULT_PEER_PATH, PeerTransport, type PeerTransportOptions } from './peer-transport.js';
export type { ProposalOutcome } from './proposal-tracker.js';
export { createRaftNode, RaftNode, type RaftNodeEvents, type RaftNodeStatus, type TimeoutOption } from './raft-node.js';
export type { RaftNodeOptions } from './raft-node-options.js';
export type { AppliedEntry, StateMachine } from './state-machine.js';
export type { PeerLinkStatus, TransportStats } from './transport-stats.js';

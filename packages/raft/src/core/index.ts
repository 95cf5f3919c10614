export { applyConfChange, decodeConfChange, encodeConfChange, isMember } from './conf-change.js';
export { invariant, RaftError, type RaftErrorCode } from './errors.js';
export { committedIndex, majority, voteResult } from './quorum.js';
export { RaftCore } from './raft.js';
export { seededRandom, systemRandom } from './random.js';
export * from './types.js';

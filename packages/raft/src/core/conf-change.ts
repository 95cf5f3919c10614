import { RaftError } from './errors.js';
import type { ConfChange, ConfChangeType, ConfState, NodeId } from './types.js';

const TYPES: readonly ConfChangeType[] = ['addVoter', 'addLearner', 'removeNode'];
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeConfChange(cc: ConfChange): Uint8Array {
  return encoder.encode(JSON.stringify({ type: cc.type, node: cc.node, context: cc.context }));
}

export function decodeConfChange(bytes: Uint8Array): ConfChange {
  const parsed: unknown = JSON.parse(decoder.decode(bytes));
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    !TYPES.includes((parsed as ConfChange).type) ||
    typeof (parsed as ConfChange).node !== 'string' ||
    typeof (parsed as ConfChange).context !== 'string'
  ) {
    throw new RaftError('INVARIANT', 'a conf entry in the log does not decode to a ConfChange');
  }
  const { type, node, context } = parsed as ConfChange;
  return { type, node, context };
}

/** The configuration after `cc`. Applying a change that is already in effect changes nothing. */
export function applyConfChange(conf: ConfState, cc: ConfChange): ConfState {
  const voters = conf.voters.filter((v) => v !== cc.node);
  const learners = conf.learners.filter((l) => l !== cc.node);
  if (cc.type === 'addVoter') voters.push(cc.node);
  if (cc.type === 'addLearner') learners.push(cc.node);
  return { voters: voters.sort(), learners: learners.sort() };
}

export function isMember(conf: ConfState, id: NodeId): boolean {
  return conf.voters.includes(id) || conf.learners.includes(id);
}

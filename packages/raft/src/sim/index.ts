export {
  defaultProfileFor,
  PLANTED_BUG_NAMES,
  type PlantedBugName,
  PROFILE_NAMES,
  type ProfileName,
} from './fault-profiles.js';
export { type SafetyProperty, SafetyViolation } from './invariants.js';
export {
  type CheckOptions,
  checkLinearizability,
  describeOp,
  describeViolation,
  type HistoryOp,
  type KvInput,
  type KvOpName,
  type KvOutput,
  type LinearizabilityResult,
} from './linearizability.js';
export { Prng } from './prng.js';
export {
  type FailureKind,
  replayCommand,
  runSimulation,
  type SimFailure,
  type SimOptions,
  type SimResult,
  type SimStats,
  STEPS_DEFAULT,
} from './simulation.js';

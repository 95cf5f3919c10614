// The cairn client SDK: register this process, watch services, pick instances zone-first, and call
// them through an undici Dispatcher.
export { type Clock, systemClock, type TimerHandle } from './clock.js';
export type { ConnectOptions, PemCertificates, PickingOptions, TlsOptions } from './connect-options.js';
export { CairnDispatcher, type DispatcherOptions, type DispatcherStats } from './dispatch/cairn-dispatcher.js';
export { CairnSdkError, SDK_ERROR_CODES, type SdkErrorCode } from './errors.js';
export type { Instance, ServiceRef } from './instance.js';
export { detectIp } from './ip-detect.js';
export type { Logger } from './logger.js';
export type { Labels } from './picking/label-selector.js';
export { OUTLIER_DEFAULTS, type OutlierOptions } from './picking/outlier-detector.js';
export {
  type LabelFallback,
  type PickCounters,
  type PickExplanation,
  type PickerConfig,
  type ZoneExplanation,
  ZonePicker,
} from './picking/zone-picker.js';
export { planZones, type ZoneHealth, type ZoneMode, type ZonePlan, type ZoneShare } from './picking/zone-plan.js';
export {
  resolveZonePolicy,
  ZONE_POLICY_DEFAULTS,
  type ZonePolicy,
  type ZonePolicyOptions,
} from './picking/zone-policy.js';
export {
  connect,
  type Explanation,
  type PickOptions,
  type RegisterOptions,
  type Registration,
  Registry,
  type RegistryStats,
} from './registry.js';
export type { SessionStatus } from './transport/session-client.js';
export type { CachedService, SourceName } from './view/disk-cache.js';
export type { HeldUpdate, ServiceEvent, Staleness } from './view/service-view.js';
export { ServiceWatch } from './view/service-watch.js';
export { SmoothWeightedRoundRobin } from './weighted-round-robin.js';

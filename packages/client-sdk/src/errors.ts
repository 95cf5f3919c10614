/**
 * Every way the SDK refuses or fails has one stable code; callers switch on `code`, people read
 * `message`. Codes the registry answers with (VALIDATION_FAILED, NO_LEADER, ...) pass through as
 * `REGISTRY_REFUSED` with the registry's own code in `registryCode`.
 */
export const SDK_ERROR_CODES = [
  'INVALID_OPTIONS',
  'NO_INSTANCE',
  'NOT_SUBSCRIBED',
  'REGISTRY_UNREACHABLE',
  'REGISTRY_REFUSED',
  'SESSION_EXPIRED',
  'TIMEOUT',
  'CLOSED',
] as const;

export type SdkErrorCode = (typeof SDK_ERROR_CODES)[number];

export class CairnSdkError extends Error {
  readonly code: SdkErrorCode;
  /** The registry's code, for REGISTRY_REFUSED. */
  readonly registryCode: string | undefined;

  constructor(code: SdkErrorCode, message: string, opts: { registryCode?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'CairnSdkError';
    this.code = code;
    this.registryCode = opts.registryCode;
  }
}

/**
 * Every way the registry refuses a request has one stable code. Clients switch on `code`; people
 * read `message`. HTTP status is derived from the code in one place (`httpStatusOf`).
 */
export const ERROR_CODES = {
  VALIDATION_FAILED: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  /** The client did not send its request (headers, or the whole request) in time. */
  REQUEST_TIMEOUT: 408,
  CONFLICT: 409,
  /** A configured bound on the registry's size (instances, services, namespaces, metadata) would be passed. */
  LIMIT_EXCEEDED: 409,
  PAYLOAD_TOO_LARGE: 413,
  /** The request's headers are larger than the server reads. */
  HEADERS_TOO_LARGE: 431,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  NO_LEADER: 503,
  UNAVAILABLE: 503,
  TIMEOUT: 504,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** One problem with one input field, for VALIDATION_FAILED. */
export interface FieldError {
  readonly field: string;
  readonly message: string;
}

export class CairnError extends Error {
  readonly code: ErrorCode;
  readonly fields: readonly FieldError[];

  constructor(code: ErrorCode, message: string, fields: readonly FieldError[] = []) {
    super(message);
    this.name = 'CairnError';
    this.code = code;
    this.fields = fields;
  }

  get httpStatus(): number {
    return httpStatusOf(this.code);
  }

  /** The JSON body every API surface answers a refusal with. */
  toJSON(): { code: ErrorCode; message: string; fields?: readonly FieldError[] } {
    return this.fields.length > 0
      ? { code: this.code, message: this.message, fields: this.fields }
      : { code: this.code, message: this.message };
  }
}

export function httpStatusOf(code: ErrorCode): number {
  return ERROR_CODES[code];
}

export { CairnError, ERROR_CODES, type ErrorCode, type FieldError, httpStatusOf } from './errors.js';
export * from './protocol/index.js';
export { VERSION } from './version.js';

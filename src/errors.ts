/**
 * Errors with a stable code, so logs, exit codes and tests can tell failures apart
 * without matching on message text.
 */
export const ERROR_CODES = {
  ZMES_CONFIG_INVALID: 'configuration value rejected',
  ZMES_CONFIG_FILE: 'configuration file missing or unreadable',
  ZMES_SECRET_MISSING: 'secret reference cannot be resolved',
  ZMES_DB_UNAVAILABLE: 'ZoneMinder database unreachable',
  ZMES_DB_SCHEMA: 'ZoneMinder database schema not recognised',
  ZMES_DB_QUERY: 'ZoneMinder database query failed',
  ZMES_DB_ROW_INVALID: 'ZoneMinder database row malformed',
  ZMES_UWS_FALLBACK: 'uWebSockets.js native binary not loaded',
  ZMES_LISTEN_FAILED: 'cannot listen on the configured address and port',
  ZMES_TLS: 'TLS certificate or key unusable',
  ZMES_STATE_FILE: 'data directory or state file unusable',
  ZMES_INTERNAL: 'internal error',
} as const;

export type ZmesErrorCode = keyof typeof ERROR_CODES;

export class ZmesError extends Error {
  readonly code: ZmesErrorCode;
  constructor(code: ZmesErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ZmesError';
    this.code = code;
  }
}

export function isZmesError(err: unknown, code?: ZmesErrorCode): err is ZmesError {
  return err instanceof ZmesError && (code === undefined || err.code === code);
}

/** A message for a log line from anything that was thrown, without a stack. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

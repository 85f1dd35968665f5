import winston from 'winston';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];

export interface Logger {
  error(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
  info(message: string, meta?: Record<string, unknown>): void;
  /** Debug messages may be given as a function so they cost nothing when debug is off. */
  debug(message: string | (() => string), meta?: Record<string, unknown>): void;
  child(module: string): Logger;
  readonly level: LogLevel;
}

export interface LoggerOptions {
  level: LogLevel;
  /** Extra transports, e.g. a memory transport in tests. Console is used when none are given. */
  transports?: winston.transport[];
  /** Strings that must never appear in a log line (resolved secrets); replaced by "***". */
  redact?: readonly string[];
}

// Monitor names, event notes, hook output and client frames reach log lines verbatim; a raw
// newline there would forge a line, and a NUL or an escape sequence would corrupt the file or
// the terminal. Every C0/C1 control, DEL and the Unicode line/paragraph separators are shown
// escaped, so one call is always one line.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const NAMED_ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** `text` with every control character written as a visible escape (`\n`, `\x00`, `\u2028`). */
export function escapeControlCharacters(text: string): string {
  return text.replace(CONTROL_CHARACTERS, (c) => {
    const named = NAMED_ESCAPES[c];
    if (named !== undefined) return named;
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** The one place a log line is composed: `<ISO time> <LEVEL> [module] message`, redacted, then escaped. */
const lineFormat = (redact: readonly string[]) =>
  winston.format.printf((info) => {
    const module = typeof info['module'] === 'string' ? ` [${info['module']}]` : '';
    let line = `${String(info['timestamp'])} ${info.level.toUpperCase().padEnd(5)}${module} ${String(info.message)}`;
    // Redacted before escaping: a secret holding a control character still matches its raw text.
    for (const secret of redact) if (secret.length >= 3) line = line.split(secret).join('***');
    return escapeControlCharacters(line);
  });

class WinstonLogger implements Logger {
  constructor(private readonly inner: winston.Logger) {}
  get level(): LogLevel {
    return this.inner.level as LogLevel;
  }
  error(message: string, meta?: Record<string, unknown>): void {
    this.inner.error(message, meta);
  }
  warn(message: string, meta?: Record<string, unknown>): void {
    if (this.inner.isWarnEnabled()) this.inner.warn(message, meta);
  }
  info(message: string, meta?: Record<string, unknown>): void {
    // winston builds and streams the record before its level filter drops it: skip that at once.
    if (this.inner.isInfoEnabled()) this.inner.info(message, meta);
  }
  debug(message: string | (() => string), meta?: Record<string, unknown>): void {
    if (!this.inner.isDebugEnabled()) return;
    this.inner.debug(typeof message === 'function' ? message() : message, meta);
  }
  child(module: string): Logger {
    return new WinstonLogger(this.inner.child({ module }));
  }
}

/** One line per event: `<ISO time> <LEVEL> [module] message`. */
export function createLogger(options: LoggerOptions): Logger {
  const inner = winston.createLogger({
    level: options.level,
    format: winston.format.combine(winston.format.timestamp(), lineFormat(options.redact ?? [])),
    transports: options.transports ?? [new winston.transports.Console({ stderrLevels: [] })],
  });
  return new WinstonLogger(inner);
}

/** Keeps only the tail of a push token or other identifier for logs (classic: last 10 characters). */
export function maskToken(token: string): string {
  return token.length <= 10 ? '…' : `…${token.slice(-10)}`;
}

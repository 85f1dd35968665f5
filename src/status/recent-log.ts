/**
 * The warnings and errors the status page lists: a Logger that passes every call on unchanged and
 * keeps a copy of each warn and error line (redacted and escaped like the log itself) in a small
 * ring buffer, with the last line of each module for the channel-health cards.
 */
import type { Logger, LogLevel } from '../log/logger.js';
import { escapeControlCharacters } from '../log/logger.js';

export interface LogRecord {
  /** Unix ms. */
  readonly at: number;
  readonly level: 'error' | 'warn';
  readonly module: string | undefined;
  readonly message: string;
}

/** The longest message kept; the log keeps the whole line. */
const MAX_MESSAGE_LENGTH = 500;

export class RecentLog {
  private readonly records: LogRecord[] = [];
  private readonly lastOfModule = new Map<string, LogRecord>();
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly now: () => number = Date.now,
    readonly capacity = 50,
  ) {}

  add(level: 'error' | 'warn', module: string | undefined, message: string): void {
    const text = message.length > MAX_MESSAGE_LENGTH ? `${message.slice(0, MAX_MESSAGE_LENGTH)}…` : message;
    const record: LogRecord = { at: this.now(), level, module, message: text };
    this.records.push(record);
    if (this.records.length > this.capacity) this.records.shift();
    // Module names are the fixed child names of the composition root: a handful, never client data.
    if (module !== undefined) this.lastOfModule.set(module, record);
    for (const listener of [...this.listeners]) listener();
  }

  /** Newest first. */
  recent(): LogRecord[] {
    return [...this.records].reverse();
  }

  /** The newest line of any of these modules, kept beyond the ring buffer. */
  lastOf(modules: readonly string[]): LogRecord | undefined {
    let newest: LogRecord | undefined;
    for (const module of modules) {
      const record = this.lastOfModule.get(module);
      if (record !== undefined && (newest === undefined || record.at >= newest.at)) newest = record;
    }
    return newest;
  }

  onAdd(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/**
 * `inner` with every warn and error line also written to `sink`, secrets replaced by `***` and
 * control characters escaped, as the log file shows them. Children keep recording under their
 * module name.
 */
export function recordingLogger(inner: Logger, sink: RecentLog, redact: readonly string[], module?: string): Logger {
  const clean = (message: string) => {
    let text = message;
    for (const secret of redact) if (secret.length >= 3) text = text.split(secret).join('***');
    return escapeControlCharacters(text);
  };
  return {
    get level(): LogLevel {
      return inner.level;
    },
    error(message, meta) {
      inner.error(message, meta);
      sink.add('error', module, clean(message));
    },
    warn(message, meta) {
      inner.warn(message, meta);
      sink.add('warn', module, clean(message));
    },
    info(message, meta) {
      inner.info(message, meta);
    },
    debug(message, meta) {
      inner.debug(message, meta);
    },
    child(name) {
      return recordingLogger(inner.child(name), sink, redact, name);
    },
  };
}

import Transport from 'winston-transport';
import { createLogger, type Logger, type LogLevel } from '../../src/log/logger.js';

export interface CapturedLine {
  level: string;
  module: string | undefined;
  message: string;
}

/** A winston transport that keeps every line in memory, so tests can assert on logs. */
class MemoryTransport extends Transport {
  readonly lines: CapturedLine[] = [];
  override log(info: Record<string | symbol, unknown>, next: () => void): void {
    const formatted = info[Symbol.for('message')];
    this.lines.push({
      level: String(info['level']),
      module: typeof info['module'] === 'string' ? info['module'] : undefined,
      message: typeof formatted === 'string' ? formatted : String(info['message']),
    });
    next();
  }
}

export interface MemoryLogger {
  log: Logger;
  lines: CapturedLine[];
  /** Lines whose formatted text matches. */
  grep(pattern: RegExp): CapturedLine[];
}

export function memoryLogger(level: LogLevel = 'debug', redact: readonly string[] = []): MemoryLogger {
  const transport = new MemoryTransport();
  const log = createLogger({ level, transports: [transport], redact });
  return {
    log,
    lines: transport.lines,
    grep: (pattern) => transport.lines.filter((l) => pattern.test(l.message)),
  };
}

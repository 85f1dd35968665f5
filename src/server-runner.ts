/**
 * Runs the server until SIGTERM or SIGINT, for every entry point (the `zmes` command and the
 * Home Assistant add-on): signals, fatal-error handlers, the escontrol in-process restart and
 * the exit codes.
 */
import { startApp } from './app.js';
import { secretValues, type LoadedConfig } from './config/load.js';
import { renderConfig } from './config/print.js';
import { errorMessage, isZmesError } from './errors.js';
import { createLogger, type Logger } from './log/logger.js';
import { checkDataDirectories } from './state/data-directories.js';
import { loadUws } from './ws/uws.js';

/** Exit codes, from sysexits.h where one fits. */
export const EXIT = {
  ok: 0,
  /** Runtime failure: cannot listen, database refused the credentials, … */
  failure: 1,
  /** EX_USAGE */
  usage: 64,
  /** EX_SOFTWARE: a bug */
  internal: 70,
  /** EX_CONFIG */
  config: 78,
} as const;

export function exitCodeFor(err: unknown): number {
  if (!isZmesError(err)) return EXIT.internal;
  switch (err.code) {
    case 'ZMES_CONFIG_INVALID':
    case 'ZMES_CONFIG_FILE':
    case 'ZMES_SECRET_MISSING':
    // Files the configuration names (certificate, key, data directory) that cannot be used:
    // the fix is in the configuration or the file system, and a restart loop would not help.
    case 'ZMES_TLS':
    case 'ZMES_STATE_FILE':
      return EXIT.config;
    case 'ZMES_INTERNAL':
      return EXIT.internal;
    default:
      return EXIT.failure;
  }
}

export interface RunOptions {
  readonly loaded: LoadedConfig;
  /** Loads the configuration again for an escontrol restart (with the stored overrides). */
  readonly reload: () => LoadedConfig | Promise<LoadedConfig>;
  /** Log at debug level whatever the configuration says. */
  readonly debug?: boolean;
  /** The first log lines: where the configuration came from. */
  readonly origin: string;
  /** Extra lines for the log once the logger exists (e.g. add-on notes). */
  readonly notes?: readonly string[];
  /**
   * Also told why the server could not start when the configuration is at fault (exit 78), for
   * the command line's stderr: the log may go to a file nobody at the terminal reads.
   */
  readonly onConfigError?: (message: string) => void;
}

/**
 * Resolves with the exit code once the server has stopped. A restart requested through
 * escontrol reloads the configuration first; one that no longer loads leaves the running
 * server untouched.
 */
export async function runServer(options: RunOptions): Promise<number> {
  const loggerFor = (loaded: LoadedConfig) =>
    createLogger({ level: options.debug ? 'debug' : loaded.config.general.log_level, redact: secretValues(loaded.config) });
  let log = loggerFor(options.loaded);
  process.on('uncaughtException', (err) => fatal(log, err));
  process.on('unhandledRejection', (err) => fatal(log, err));

  type Running = { stop(): Promise<void> };
  let app: Running | undefined;
  let stopping = false;
  let finish: (code: number) => void = () => undefined;
  const finished = new Promise<number>((resolve) => (finish = resolve));
  const stop = (running: Running) =>
    running.stop().then(
      () => finish(EXIT.ok),
      (err: unknown) => {
        log.error(`failed to stop cleanly: ${errorMessage(err)}`);
        finish(EXIT.failure);
      },
    );
  // Installed before anything starts, so a signal during a slow start still stops cleanly;
  // a clean stop exits 0 (the Supervisor complains about 143).
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn(`${signal} received again: exiting without waiting`);
      process.exit(EXIT.failure);
    }
    stopping = true;
    log.info(`${signal} received: stopping`);
    if (app !== undefined) void stop(app);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  const describe = (loaded: LoadedConfig) => {
    for (const warning of loaded.warnings) log.warn(warning);
    // One log call per line: the logger escapes newlines, which would fold the table into one line.
    if (log.level !== 'debug') return;
    for (const line of renderConfig({ ...loaded, file: null }).split('\n')) if (line.trim() !== '') log.debug(line);
  };
  log.info(options.origin);
  for (const note of options.notes ?? []) log.info(note);
  describe(options.loaded);

  let restarting = false;
  const restart = (): void => {
    if (stopping || restarting || app === undefined) return;
    restarting = true;
    void restartApp().finally(() => (restarting = false));
  };
  const restartApp = async (): Promise<void> => {
    let next: LoadedConfig;
    try {
      next = await options.reload();
      checkDataDirectories(next.config);
    } catch (err) {
      log.error(`restart refused, the server keeps running: configuration error: ${errorMessage(err)}`);
      return;
    }
    log.info('restarting (escontrol)');
    const current = app;
    app = undefined;
    try {
      await current?.stop();
    } catch (err) {
      log.error(`failed to stop cleanly before the restart: ${errorMessage(err)}`);
    }
    if (stopping) return finish(EXIT.ok);
    // A new logger: the level and the secrets to mask may have changed.
    log = loggerFor(next);
    describe(next);
    try {
      app = await startApp(next.config, log, { restart });
    } catch (err) {
      log.error(`cannot start after the restart: ${errorMessage(err)}`);
      return finish(exitCodeFor(err));
    }
    if (stopping) void stop(app);
  };

  let started: Running;
  try {
    // A missing native uWS binary is the more basic fault: say that before touching any directory.
    loadUws();
    checkDataDirectories(options.loaded.config);
    started = await startApp(options.loaded.config, log, { restart });
  } catch (err) {
    log.error(`cannot start: ${errorMessage(err)}`);
    const code = exitCodeFor(err);
    if (code === EXIT.config) options.onConfigError?.(errorMessage(err));
    return code;
  }
  app = started;
  if (stopping) void stop(started);
  return finished;
}

function fatal(log: Logger, err: unknown): never {
  // A stack is many lines; logged one by one, as the logger would fold them into one.
  const text = err instanceof Error && err.stack ? err.stack : errorMessage(err);
  for (const [i, line] of text.split('\n').entries()) log.error(i === 0 ? `internal error: ${line}` : `  ${line.trim()}`);
  process.exit(EXIT.internal);
}

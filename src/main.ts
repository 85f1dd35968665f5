#!/usr/bin/env node
/**
 * The zmes process: command line, configuration, logger, signals and exit codes.
 * Everything else is built by startApp (src/app.ts).
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startApp } from './app.js';
import { loadConfig, secretValues, type LoadedConfig } from './config/load.js';
import { renderConfig } from './config/print.js';
import { errorMessage, isZmesError } from './errors.js';
import { createLogger, type Logger } from './log/logger.js';
import { ZMES_VERSION } from './version.js';

/** Exit codes, from sysexits.h where one fits. */
const EXIT = {
  ok: 0,
  /** Runtime failure: cannot listen, database unreachable, … */
  failure: 1,
  /** EX_USAGE */
  usage: 64,
  /** EX_SOFTWARE: a bug */
  internal: 70,
  /** EX_CONFIG */
  config: 78,
} as const;

const DEFAULT_CONFIG_FILE = '/etc/zm/zmeventnotification.yml';

const USAGE = `Usage: zmes [--config FILE] [--check-config] [--debug]
       zmes --help | --version

ZoneMinder event notification server, compatible with zmNinja and the classic
zmeventnotification.pl configuration.

Options:
  --config FILE     YAML configuration file (also --config=FILE). Default:
                    ${DEFAULT_CONFIG_FILE} if it exists, else built-in defaults
  --check-config    print the effective configuration (secrets masked) and exit
  --debug           log at debug level, whatever general.log_level says
  --version         print the version and exit
  --help            print this help and exit

Every setting can also be given as an environment variable ZMES_<SECTION>_<KEY>,
e.g. ZMES_MQTT_ENABLE=yes; these win over the file (see docs/configuration.md).

Exit status:
  0   success; also a clean stop on SIGTERM or SIGINT
  1   runtime failure (e.g. cannot listen, database unreachable)
  64  bad command line
  70  internal error
  78  invalid configuration (including a missing --config file or secret)
`;

interface CommandLine {
  readonly config: string | undefined;
  readonly checkConfig: boolean;
  readonly debug: boolean;
  readonly help: boolean;
  readonly version: boolean;
}

/** Throws a TypeError (node's ERR_PARSE_ARGS_* among them) on a bad command line. */
function parseCommandLine(args: string[]): CommandLine {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      config: { type: 'string' },
      'check-config': { type: 'boolean' },
      debug: { type: 'boolean' },
      help: { type: 'boolean' },
      version: { type: 'boolean' },
    },
  });
  if (values.config !== undefined && values.config.trim() === '') {
    throw new TypeError('option --config needs a file name');
  }
  return {
    config: values.config,
    checkConfig: values['check-config'] ?? false,
    debug: values.debug ?? false,
    help: values.help ?? false,
    version: values.version ?? false,
  };
}

function exitCodeFor(err: unknown): number {
  if (!isZmesError(err)) return EXIT.internal;
  switch (err.code) {
    case 'ZMES_CONFIG_INVALID':
    case 'ZMES_CONFIG_FILE':
    case 'ZMES_SECRET_MISSING':
      return EXIT.config;
    case 'ZMES_INTERNAL':
      return EXIT.internal;
    default:
      return EXIT.failure;
  }
}

const print = (text: string) => process.stdout.write(text);
const complain = (text: string) => process.stderr.write(`zmes: ${text}\n`);

type Outcome = { code: number; running: boolean };

async function main(args: string[]): Promise<Outcome> {
  let cli: CommandLine;
  try {
    cli = parseCommandLine(args);
  } catch (err) {
    complain(err instanceof Error ? err.message : String(err));
    process.stderr.write(`\n${USAGE}`);
    return { code: EXIT.usage, running: false };
  }
  if (cli.help) {
    print(USAGE);
    return { code: EXIT.ok, running: false };
  }
  if (cli.version) {
    print(`zmes ${ZMES_VERSION}\n`);
    return { code: EXIT.ok, running: false };
  }

  // The classic default file is optional; a file named on the command line is not.
  const file = cli.config ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined);
  let loaded: LoadedConfig;
  try {
    loaded = loadConfig(file === undefined ? {} : { file });
  } catch (err) {
    complain(`configuration error: ${errorMessage(err)}`);
    return { code: exitCodeFor(err), running: false };
  }

  if (cli.checkConfig) {
    for (const warning of loaded.warnings) complain(`warning: ${warning}`);
    print(renderConfig({ ...loaded, file: file ?? null, title: `zmes ${ZMES_VERSION}` }));
    return { code: EXIT.ok, running: false };
  }
  return { code: await run(loaded, file, cli.debug), running: true };
}

/** Runs the server until SIGTERM or SIGINT; resolves with the exit code. */
async function run(loaded: LoadedConfig, file: string | undefined, debug: boolean): Promise<number> {
  const { config } = loaded;
  const log = createLogger({ level: debug ? 'debug' : config.general.log_level, redact: secretValues(config) });
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
  // Installed before anything starts, so a signal during a slow start still stops cleanly.
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

  log.info(file === undefined ? 'no configuration file: built-in defaults and ZMES_* variables' : `configuration read from ${file}`);
  for (const warning of loaded.warnings) log.warn(warning);
  log.debug(() => renderConfig({ ...loaded, file: file ?? null }).trimEnd());

  let started: Running;
  try {
    started = await startApp(config, log);
  } catch (err) {
    log.error(`cannot start: ${errorMessage(err)}`);
    return exitCodeFor(err);
  }
  app = started;
  if (stopping) void stop(started);
  return finished;
}

function fatal(log: Logger, err: unknown): never {
  log.error(`internal error: ${err instanceof Error && err.stack ? err.stack : errorMessage(err)}`);
  process.exit(EXIT.internal);
}

main(process.argv.slice(2)).then(
  ({ code, running }) => {
    // A stopped server may leave handles (pools, timers) behind: end the process. The
    // one-shot commands just set the code, so that buffered output is written first.
    if (running) process.exit(code);
    process.exitCode = code;
  },
  (err: unknown) => {
    complain(`internal error: ${err instanceof Error && err.stack ? err.stack : errorMessage(err)}`);
    process.exitCode = EXIT.internal;
  },
);

#!/usr/bin/env node
/**
 * The zmes process: command line, configuration, logger, signals and exit codes.
 * Everything else is built by startApp (src/app.ts).
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { LoadOptions, LoadedConfig } from './config/load.js';
import { loadConfigWithEscontrol } from './escontrol/startup-overrides.js';
import { migrateConfig } from './migrate/cli.js';
import { renderConfig } from './config/print.js';
import { errorMessage } from './errors.js';
import { EXIT, exitCodeFor, runServer } from './server-runner.js';
import { ZMES_VERSION } from './version.js';


const DEFAULT_CONFIG_FILE = '/etc/zm/zmeventnotification.yml';

const USAGE = `Usage: zmes [--config FILE] [--check-config] [--debug]
       zmes migrate-config [options] FILE   (zmes migrate-config --help)
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
  78  invalid configuration (including a missing --config file or secret, an
      unusable ssl.cert or ssl.key, or a data directory zmes cannot write to)
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


const print = (text: string) => process.stdout.write(text);
const complain = (text: string) => process.stderr.write(`zmes: ${text}\n`);

type Outcome = { code: number; running: boolean };

async function main(args: string[]): Promise<Outcome> {
  if (args[0] === 'migrate-config') {
    const code = await migrateConfig(args.slice(1), { stdout: print, stderr: (text) => process.stderr.write(text) });
    return { code, running: false };
  }
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
  // With general.use_escontrol_interface on, the admin's stored `edit` overrides apply too.
  const loadOptions: LoadOptions = file === undefined ? {} : { file };
  let loaded: LoadedConfig;
  try {
    loaded = loadConfigWithEscontrol(loadOptions);
  } catch (err) {
    complain(`configuration error: ${errorMessage(err)}`);
    return { code: exitCodeFor(err), running: false };
  }

  if (cli.checkConfig) {
    for (const warning of loaded.warnings) complain(`warning: ${warning}`);
    print(renderConfig({ ...loaded, file: file ?? null, title: `zmes ${ZMES_VERSION}` }));
    return { code: EXIT.ok, running: false };
  }
  return {
    code: await runServer({
      loaded,
      reload: () => loadConfigWithEscontrol(loadOptions),
      debug: cli.debug,
      origin: file === undefined ? 'no configuration file: built-in defaults and ZMES_* variables' : `configuration read from ${file}`,
      onConfigError: (message) => complain(`configuration error: ${message}`),
    }),
    running: true,
  };
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

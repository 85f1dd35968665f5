#!/usr/bin/env node
/**
 * The zmes process: command line, configuration, logger, signals and exit codes.
 * Everything else is built by startApp (src/app.ts).
 */
// First: limits the young generation before anything else allocates (see the module).
import './young-generation.js';
import { CommandLineError, DEFAULT_CONFIG_FILES, chooseConfigFile, parseCommandLine, settingsHelp, type CommandLine } from './config/command-line.js';
import type { LoadOptions, LoadedConfig } from './config/load.js';
import { FORMAT_TEXT } from './migrate/classic-file.js';
import { loadConfigWithEscontrol } from './escontrol/startup-overrides.js';
import { renderConfig } from './config/print.js';
import { errorMessage } from './errors.js';
import { EXIT, exitCodeFor, runServer } from './server-runner.js';
import { ZMES_VERSION } from './version.js';

const SYNOPSIS = `Usage: zmes [--config FILE] [--check-config] [--debug] [SETTING...]
       zmes migrate-config [options] FILE   (zmes migrate-config --help)
       zmes install-zm-daemon [options]     (zmes install-zm-daemon --help)
       zmes --help | --version
`;

const USAGE = `${SYNOPSIS}
ZoneMinder event notification server, compatible with zmNinja and the classic
zmeventnotification.pl configuration.

Options:
  --config FILE     configuration file (also --config=FILE): a zmes YAML file, or
                    the classic zmeventnotification.ini (with the secrets.ini it
                    names) or zmeventnotification.yml, used as they are. Default:
                    ZMES_CONFIG, else the first that exists of
                    ${DEFAULT_CONFIG_FILES.join(',\n                    ')},
                    else built-in defaults
  --check-config    print the effective configuration (secrets masked) and exit
  --debug           log at debug level, whatever general.log_level says
  --set SECTION.KEY=VALUE
                    set one option (repeatable); same as --SECTION.KEY=VALUE
  --version         print the version and exit
  --help            print this help and exit

Precedence, lowest first: built-in defaults, the file, environment variables
ZMES_<SECTION>_<KEY> (e.g. ZMES_MQTT_ENABLE=yes), the command line. A value
the option does not accept exits with status 78, naming the flag.

Exit status:
  0   success; also a clean stop on SIGTERM or SIGINT
  1   runtime failure (e.g. cannot listen, database unreachable)
  64  bad command line
  70  internal error
  78  invalid configuration (including a missing --config file or secret, an
      unusable ssl.cert or ssl.key, or a data directory zmes cannot write to)
${settingsHelp()}`;

const print = (text: string) => process.stdout.write(text);
const complain = (text: string) => process.stderr.write(`zmes: ${text}\n`);

type Outcome = { code: number; running: boolean };

async function main(args: string[]): Promise<Outcome> {
  if (args[0] === 'install-zm-daemon') {
    const { installZmDaemon } = await import('./install/zm-daemon.js');
    return { code: installZmDaemon(args.slice(1), { stdout: print, stderr: (text) => process.stderr.write(text) }), running: false };
  }
  if (args[0] === 'migrate-config') {
    const { migrateConfig } = await import('./migrate/cli.js');
    const code = await migrateConfig(args.slice(1), { stdout: print, stderr: (text) => process.stderr.write(text) });
    return { code, running: false };
  }
  let cli: CommandLine;
  try {
    cli = parseCommandLine(args);
  } catch (err) {
    if (!(err instanceof CommandLineError)) throw err;
    complain(err.message);
    // The whole usage lists every option: too long to bury the message under.
    process.stderr.write(`\n${SYNOPSIS}Run zmes --help for every option.\n`);
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

  // The default files are optional; a file named by --config or ZMES_CONFIG is not.
  const chosen = chooseConfigFile({ flag: cli.config, env: process.env });
  const file = chosen?.path;
  // With general.use_escontrol_interface on, the admin's stored `edit` overrides apply too.
  const loadOptions: LoadOptions = { ...(file === undefined ? {} : { file }), commandLine: cli.settings };
  let loaded: LoadedConfig;
  try {
    loaded = loadConfigWithEscontrol(loadOptions);
  } catch (err) {
    complain(`configuration error: ${errorMessage(err)}`);
    return { code: exitCodeFor(err), running: false };
  }

  if (cli.checkConfig) {
    for (const warning of loaded.warnings) complain(`warning: ${warning}`);
    print(renderConfig({ ...loaded, file: file ?? null, ...(chosen ? { fileChosen: chosen.how } : {}), title: `zmes ${ZMES_VERSION}` }));
    return { code: EXIT.ok, running: false };
  }
  return {
    code: await runServer({
      loaded,
      reload: () => loadConfigWithEscontrol(loadOptions),
      debug: cli.debug,
      origin:
        file === undefined
          ? 'no configuration file: built-in defaults, ZMES_* variables and the command line'
          : `configuration read from ${file} (${[loaded.fileFormat && FORMAT_TEXT[loaded.fileFormat], chosen?.how].filter(Boolean).join('; ')})`,
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

#!/usr/bin/env node
/**
 * The Home Assistant add-on's entry point: reads the Supervisor's /data/options.json, maps it
 * onto zmes's configuration (addon/options.ts), asks the Supervisor for the MQTT broker when
 * none is configured by hand, then runs the same server as src/main.ts (startApp).
 *
 *   node dist/addon/main.js           run the server (s6 longrun `zmes`)
 *   node dist/addon/main.js --check   validate, print the effective configuration with
 *                                     secrets masked, exit 0, or 78 with a readable error
 *                                     (s6 oneshot `init-zmes`)
 *
 * Environment (the defaults are the container's; tests point them elsewhere):
 *   ZMES_ADDON_OPTIONS     options file            (/data/options.json)
 *   ZMES_ADDON_DATA_DIR    persistent state        (/data)
 *   ZMES_ADDON_SSL_DIR     certificates            (/ssl)
 *   ZMES_ADDON_CONFIG_DIR  user files              (/config)
 *   ZMES_ADDON_PORT        listening port          (9000; tests only, the add-on's is fixed)
 *   SUPERVISOR_API         Supervisor base URL     (http://supervisor)
 *   SUPERVISOR_TOKEN       set by the Supervisor
 */
// First: limits the young generation before anything else allocates (see the module).
import '../src/young-generation.js';
import { renderConfig } from '../src/config/print.js';
import { errorMessage, isZmesError, ZmesError } from '../src/errors.js';
import { EXIT, exitCodeFor, runServer } from '../src/server-runner.js';
import { ZMES_VERSION } from '../src/version.js';
import { addonEnvironment, checkFiles, prepareConfig, type AddonEnvironment, type PreparedConfig } from './prepare.js';

const say = (text: string) => process.stdout.write(`${text}\n`);
const complain = (text: string) => process.stderr.write(`${text}\n`);

/** The add-on log shows each line; indent continuation lines so a multi-line error reads as one. */
function configError(err: unknown): void {
  const lines = (isZmesError(err) ? err.message : errorMessage(err)).split('\n');
  complain(`[zmes] configuration error: ${lines.length > 1 ? '' : lines[0]}`);
  if (lines.length > 1) for (const line of lines) complain(`[zmes]   ${line}`);
  complain("[zmes] fix the add-on's options in its Configuration tab, then start it again");
}

/** The prepared configuration, or the exit code after reporting why it could not be prepared. */
async function prepareOrReport(addon: AddonEnvironment, env: NodeJS.ProcessEnv): Promise<PreparedConfig | number> {
  try {
    return await prepareConfig(addon, env);
  } catch (err) {
    configError(err);
    return exitCodeFor(err);
  }
}

async function check(addon: AddonEnvironment, env: NodeJS.ProcessEnv): Promise<number> {
  const prepared = await prepareOrReport(addon, env);
  if (typeof prepared === 'number') return prepared;
  const files = checkFiles(prepared.loaded, addon);
  for (const note of prepared.notes) say(`[zmes] ${note}`);
  for (const warning of [...prepared.warnings, ...files.warnings]) complain(`[zmes] warning: ${warning}`);
  if (files.errors.length > 0) {
    configError(new ZmesError('ZMES_CONFIG_INVALID', files.errors.join('\n')));
    return EXIT.config;
  }
  say(renderConfig({ ...prepared.loaded, file: addon.optionsFile, title: `zmes ${ZMES_VERSION} (Home Assistant add-on)` }).trimEnd());
  say('[zmes] configuration OK');
  return EXIT.ok;
}

/** Runs the server until SIGTERM or SIGINT (src/server-runner.ts); resolves with the exit code. */
async function run(addon: AddonEnvironment, env: NodeJS.ProcessEnv): Promise<number> {
  const prepared = await prepareOrReport(addon, env);
  if (typeof prepared === 'number') return prepared;
  return runServer({
    // prepared.warnings holds the mapping's warnings and the loader's.
    loaded: { ...prepared.loaded, warnings: prepared.warnings },
    // An escontrol restart reads the options (and the Supervisor's broker) again.
    reload: async () => (await prepareConfig(addon, env)).loaded,
    origin: `Home Assistant add-on: options read from ${addon.optionsFile}`,
    notes: prepared.notes,
  });
}

async function main(args: string[]): Promise<{ code: number; running: boolean }> {
  const unknown = args.filter((a) => a !== '--check');
  if (unknown.length > 0) {
    complain(`usage: main.js [--check]  (unknown argument ${unknown[0]})`);
    return { code: EXIT.usage, running: false };
  }
  let addon: AddonEnvironment;
  try {
    addon = addonEnvironment(process.env);
  } catch (err) {
    configError(err);
    return { code: exitCodeFor(err), running: false };
  }
  if (args.includes('--check')) return { code: await check(addon, process.env), running: false };
  return { code: await run(addon, process.env), running: true };
}

main(process.argv.slice(2)).then(
  ({ code, running }) => {
    // A stopped server may leave handles (pools, timers) behind: end the process.
    if (running) process.exit(code);
    process.exitCode = code;
  },
  (err: unknown) => {
    complain(`[zmes] internal error: ${err instanceof Error && err.stack ? err.stack : errorMessage(err)}`);
    process.exitCode = EXIT.internal;
  },
);

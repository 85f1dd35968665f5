/**
 * `zmes install-zm-daemon`: lets ZoneMinder itself run zmes, as it ran the classic server.
 * ZoneMinder's zmdc.pl starts `$ZM_PATH_BIN/zmeventnotification.pl` (OPT_USE_EVENTNOTIFICATION)
 * as the web server's user and restarts it when it dies; this command puts the stand-in script
 * of packaging/ there, with the paths of this Node.js and this zmes filled in, and keeps a classic
 * server found in its place as `zmeventnotification.pl.classic`.
 */
import { chmodSync, existsSync, readFileSync, realpathSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../state/atomic-file.js';
import { readZmConf } from '../config/zm-conf.js';
import { errorMessage } from '../errors.js';
import { PROJECT_ROOT } from '../version.js';

export const DAEMON_NAME = 'zmeventnotification.pl';
/** What marks a zmeventnotification.pl as ours (the template's first comment line). */
const MARKER = 'zmeventnotification.pl -> zmes';

const USAGE = `Usage: zmes install-zm-daemon [--zm-conf FILE] [--bin-dir DIR] [--config FILE]

Installs ${DAEMON_NAME} into ZoneMinder's ZM_PATH_BIN so that ZoneMinder starts zmes
(Options > System > OPT_USE_EVENTNOTIFICATION), as the web server's user.

  --zm-conf FILE   ZoneMinder's zm.conf, read with its conf.d (default /etc/zm/zm.conf)
  --bin-dir DIR    where to install, instead of ZM_PATH_BIN from zm.conf
  --config FILE    the configuration zmes reads there (default: ZMES_CONFIG at run time,
                   else /etc/zm/zmeventnotification.yml, then .ini)
  --help           print this help
`;

export interface InstallIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

interface InstallOptions {
  zmConf: string;
  binDir: string | undefined;
  config: string | undefined;
}

/** The shim's text: the template with this Node.js, this zmes and the configuration filled in. */
export function daemonScript(template: string, paths: { node: string; main: string; config: string | undefined }): string {
  const quote = (value: string) => value.replace(/'/g, `'\\''`);
  return template
    .replace("'@ZMES_NODE@'", `'${quote(paths.node)}'`)
    .replace("'@ZMES_MAIN@'", `'${quote(paths.main)}'`)
    .replace("'@ZMES_CONFIG@'", `'${quote(paths.config ?? '')}'`);
}

function parseArguments(args: readonly string[]): InstallOptions | 'help' | string {
  const options: InstallOptions = { zmConf: '/etc/zm/zm.conf', binDir: undefined, config: undefined };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--help' || arg === '-h') return 'help';
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = inline ?? args[++i];
    if (value === undefined || value === '') return `${flag} needs a value`;
    if (flag === '--zm-conf') options.zmConf = value;
    else if (flag === '--bin-dir') options.binDir = value;
    else if (flag === '--config') options.config = value;
    else return `unknown argument ${JSON.stringify(arg)}`;
  }
  return options;
}

/** Runs the command; returns the exit status (0, 1 failure, 64 usage). */
export function installZmDaemon(args: readonly string[], io: InstallIo, running = { node: process.execPath, main: process.argv[1] ?? '' }): number {
  const parsed = parseArguments(args);
  if (parsed === 'help') {
    io.stdout(USAGE);
    return 0;
  }
  if (typeof parsed === 'string') {
    io.stderr(`zmes install-zm-daemon: ${parsed}\n\n${USAGE}`);
    return 64;
  }
  const main = realpathSync(running.main);
  if (main.endsWith('.ts')) {
    io.stderr('zmes install-zm-daemon: run it from the built package (npm run build, then node dist/src/main.js install-zm-daemon)\n');
    return 1;
  }
  const zmConf = readZmConf(parsed.zmConf);
  for (const warning of zmConf.warnings) io.stderr(`zmes install-zm-daemon: warning: ${warning}\n`);
  if (parsed.binDir === undefined && zmConf.files.length === 0) {
    io.stderr(`zmes install-zm-daemon: ${parsed.zmConf} not found; name ZoneMinder's zm.conf with --zm-conf, or the folder with --bin-dir\n`);
    return 1;
  }
  const binDir = parsed.binDir ?? zmConf.values.get('ZM_PATH_BIN') ?? '/usr/bin';
  const webUser = zmConf.values.get('ZM_WEB_USER') ?? 'www-data';
  const target = join(binDir, DAEMON_NAME);
  try {
    const template = readFileSync(join(PROJECT_ROOT, 'packaging', DAEMON_NAME), 'utf8');
    const script = daemonScript(template, { node: running.node, main, config: parsed.config });
    let keptClassic: string | null = null;
    if (existsSync(target) && !readFileSync(target, 'utf8').includes(MARKER)) {
      keptClassic = `${target}.classic`;
      renameSync(target, keptClassic);
    }
    writeFileAtomic(target, script, 0o755);
    chmodSync(target, 0o755); // whatever the umask
    io.stdout(`installed ${target}: ZoneMinder's zmdc.pl now starts zmes ${main} with ${running.node}\n`);
    if (keptClassic !== null) io.stdout(`the classic server that was there is kept as ${keptClassic}\n`);
  } catch (err) {
    io.stderr(`zmes install-zm-daemon: cannot install ${target}: ${errorMessage(err)}\n`);
    return 1;
  }
  io.stdout(
    [
      'Next:',
      `  1. zmes runs as ZoneMinder's web user (${webUser}): it must be able to read the configuration`,
      `     (${parsed.config ?? '/etc/zm/zmeventnotification.yml or .ini'}) and zm.conf, and write the data directory:`,
      `     install -d -o ${webUser} -g ${webUser} /var/lib/zmeventnotification`,
      '  2. In ZoneMinder: Options > System > OPT_USE_EVENTNOTIFICATION on, then restart ZoneMinder',
      '     (systemctl restart zoneminder). Its log (zmdc) shows zmeventnotification.pl starting.',
      '',
    ].join('\n'),
  );
  return 0;
}

/**
 * The settings part of the zmes command line: a flag per option (`--section.key=VALUE`, also
 * `--set section.key=VALUE`) and the classic server's v1.0 flags under their original names
 * (`--port`, `--[no-]enable-ssl`, …, defined with their option in schema.ts). Parsing only
 * finds which option each flag sets; the loader checks the value like any other, with the flag
 * named in its message. Also the search for the configuration file when none is named.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { suggest } from './config-file.js';
import { FORMATS } from './formats.js';
import type { CommandLineSetting } from './load.js';
import { OPTIONS, findOption, type ClassicFlag, type OptionInfo } from './schema.js';

/** A command line that cannot be parsed: exit status 64 (EX_USAGE). */
export class CommandLineError extends Error {
  override readonly name = 'CommandLineError';
}

export interface CommandLine {
  readonly config: string | undefined;
  readonly checkConfig: boolean;
  readonly debug: boolean;
  readonly help: boolean;
  readonly version: boolean;
  /** In the order given: for one option the last one wins. */
  readonly settings: readonly CommandLineSetting[];
}

/** The classic v1.0 configuration files, then the v6 location (classic-config.md §1). */
export const DEFAULT_CONFIG_FILES: readonly string[] = [
  '/etc/zm/zmeventnotification.yml',
  '/etc/zm/zmeventnotification.ini',
  '/etc/zmeventnotification.ini',
];

type FlagTarget =
  | { readonly kind: 'process' }
  | { readonly kind: 'set' }
  | { readonly kind: 'option'; readonly option: OptionInfo }
  | { readonly kind: 'switch'; readonly option: OptionInfo; readonly value: string };

type ParseOption = { type: 'string' | 'boolean'; multiple?: boolean };

const PROCESS_FLAGS: Readonly<Record<string, ParseOption>> = {
  config: { type: 'string' },
  'check-config': { type: 'boolean' },
  debug: { type: 'boolean' },
  help: { type: 'boolean' },
  version: { type: 'boolean' },
  set: { type: 'string', multiple: true },
};

/** Every flag name (without dashes) and what it does, for parseArgs and for suggestions. */
function flagTable(): { parse: Record<string, ParseOption>; targets: Map<string, FlagTarget> } {
  const parse: Record<string, ParseOption> = { ...PROCESS_FLAGS };
  const targets = new Map<string, FlagTarget>(Object.keys(PROCESS_FLAGS).map((name) => [name, { kind: name === 'set' ? 'set' : 'process' }]));
  const add = (name: string, type: ParseOption['type'], target: FlagTarget) => {
    if (targets.has(name)) throw new Error(`command-line flag --${name} defined twice`);
    parse[name] = { type };
    targets.set(name, target);
  };
  for (const option of OPTIONS) {
    add(option.key, 'string', { kind: 'option', option });
    const flag = option.leaf.classicFlag;
    if (flag === undefined) continue;
    if (flag.kind === 'value') add(flag.name, 'string', { kind: 'option', option });
    else {
      add(flag.name, 'boolean', { kind: 'switch', option, value: flag.on });
      // Getopt::Long, which the classic server used, takes both spellings of the negation.
      for (const negated of [`no-${flag.name}`, `no${flag.name}`]) add(negated, 'boolean', { kind: 'switch', option, value: flag.off });
    }
  }
  return { parse, targets };
}

const FLAGS = flagTable();

/** Throws CommandLineError for anything that is not a valid zmes command line. */
export function parseCommandLine(args: readonly string[]): CommandLine {
  let config: string | undefined;
  const switches = new Set<string>();
  const settings: CommandLineSetting[] = [];
  for (const token of tokensOf(args)) {
    if (token.kind !== 'option') continue;
    const target = FLAGS.targets.get(token.name);
    const value = token.value ?? '';
    switch (target?.kind) {
      case 'process':
        if (token.name === 'config') {
          if (value.trim() === '') throw new CommandLineError('option --config needs a file name');
          config = value;
        } else switches.add(token.name);
        break;
      case 'set':
        settings.push(setFlag(value));
        break;
      case 'option':
        settings.push({ key: target.option.key, value, flag: token.rawName });
        break;
      case 'switch':
        settings.push({ key: target.option.key, value: target.value, flag: token.rawName });
        break;
      default:
        throw new CommandLineError(`unknown option ${token.rawName}`);
    }
  }
  return {
    config,
    checkConfig: switches.has('check-config'),
    debug: switches.has('debug'),
    help: switches.has('help'),
    version: switches.has('version'),
    settings,
  };
}

/** The flags in the order given (node's parseArgs: strict, no positional arguments). */
function tokensOf(args: readonly string[]) {
  try {
    return parseArgs({ args: [...args], options: FLAGS.parse, strict: true, allowPositionals: false, tokens: true }).tokens;
  } catch (err) {
    throw usageError(err);
  }
}

function setFlag(text: string): CommandLineSetting {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new CommandLineError(`--set ${text}: expected SECTION.KEY=VALUE, e.g. --set mqtt.server=broker.lan`);
  const key = text.slice(0, eq).trim();
  if (findOption(key) === undefined) {
    throw new CommandLineError(`--set ${key}: no such option${suggest(key, OPTIONS.map((o) => o.key))}; zmes --help lists them`);
  }
  return { key, value: text.slice(eq + 1), flag: `--set ${key}` };
}

/** parseArgs' errors, with a suggestion for a mistyped flag. */
function usageError(err: unknown): CommandLineError {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const name = /'(-{1,2}[^']*)'/.exec(message)?.[1];
    if (name !== undefined) {
      const bare = name.replace(/^-+/, '').split('=')[0] ?? '';
      return new CommandLineError(`unknown option ${name}${suggest(bare, [...FLAGS.targets.keys()], '--')}`);
    }
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return new CommandLineError(message.split('.')[0] ?? message);
  return new CommandLineError(message);
}

/** The flags that set an option, as written in a synopsis: `--network.port=PORT`, `--port PORT`. */
export function optionFlags(option: OptionInfo): string[] {
  const flags = [`--${option.key}=${FORMATS[option.leaf.format].placeholder}`];
  const classic = option.leaf.classicFlag;
  if (classic !== undefined) flags.push(classicSynopsis(classic, option));
  return flags;
}

function classicSynopsis(flag: ClassicFlag, option: OptionInfo): string {
  return flag.kind === 'value' ? `--${flag.name} ${FORMATS[option.leaf.format].placeholder}` : `--[no-]${flag.name}`;
}

/** What a classic flag does, in one sentence before the option's own description. */
function classicEffect(flag: ClassicFlag, option: OptionInfo): string {
  if (flag.kind === 'value') return `Sets ${option.key}.`;
  const plain = flag.on === 'yes' && flag.off === 'no';
  return plain ? `Sets ${option.key} to yes (--no-${flag.name}: no).` : `Sets ${option.key} to ${flag.on} (--no-${flag.name}: ${flag.off}).`;
}

/** The classic flags and every option, for `zmes --help`, described as in docs/configuration.md. */
export function settingsHelp(width = 80): string {
  const lines: string[] = ['', 'Classic (v1.0) flags, under their original names:'];
  for (const option of OPTIONS) {
    const flag = option.leaf.classicFlag;
    if (flag === undefined) continue;
    const ignored = option.leaf.usage === 'ignored' ? ' No effect in zmes: accepted with a warning.' : '';
    lines.push(...entry(classicSynopsis(flag, option), `${classicEffect(flag, option)} ${option.leaf.doc}${ignored}`, width));
  }
  lines.push('', 'Every option (docs/configuration.md), also as --set SECTION.KEY=VALUE; an empty', 'VALUE unsets an optional one:');
  for (const option of OPTIONS) {
    const ignored = option.leaf.usage === 'ignored' ? ' (no effect in zmes)' : '';
    lines.push(...entry(optionFlags(option)[0] ?? option.key, option.leaf.doc + ignored, width));
  }
  return lines.join('\n') + '\n';
}

const COLUMN = 26;

/** `  --flag   description`, the description wrapped under itself; on the next line when the flag is wide. */
function entry(flag: string, description: string, width: number): string[] {
  const head = `  ${flag}`;
  const indent = head.length + 2 <= COLUMN ? COLUMN : 6;
  const wrapped = wrap(description, width - indent);
  const pad = ' '.repeat(indent);
  if (indent === COLUMN) return [`${head.padEnd(COLUMN)}${wrapped[0] ?? ''}`, ...wrapped.slice(1).map((line) => pad + line)];
  return [head, ...wrapped.map((line) => pad + line)];
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}

export interface ConfigFileChoice {
  readonly path: string;
  /** For --check-config and the log: "named by --config", "found by the default search". */
  readonly how: string;
}

export interface ChooseOptions {
  /** The --config value. */
  readonly flag: string | undefined;
  readonly env: NodeJS.ProcessEnv;
  /** Searched in order when neither --config nor ZMES_CONFIG names a file; DEFAULT_CONFIG_FILES by default. */
  readonly candidates?: readonly string[];
  readonly exists?: (path: string) => boolean;
}

/**
 * The configuration file: --config, else ZMES_CONFIG, else the first default file that
 * exists; undefined when there is none (built-in defaults, as the classic server ran).
 */
export function chooseConfigFile(options: ChooseOptions): ConfigFileChoice | undefined {
  if (options.flag !== undefined) return { path: options.flag, how: 'named by --config' };
  const fromEnv = options.env['ZMES_CONFIG']?.trim();
  if (fromEnv) return { path: fromEnv, how: 'named by ZMES_CONFIG' };
  const exists = options.exists ?? existsSync;
  const path = (options.candidates ?? DEFAULT_CONFIG_FILES).find((candidate) => exists(candidate));
  return path === undefined ? undefined : { path, how: 'found by the default search' };
}

/**
 * `zmes migrate-config`: turns a classic event server setup into a zmes one. Everything is read
 * and checked first; only then is anything written, so a bad input leaves no half-written
 * result. Existing output files are kept unless --force is given.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, extname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { loadConfig } from '../config/load.js';
import { readSecretsFile } from '../config/secrets.js';
import type { OptionKey } from '../config/schema.js';
import { errorMessage, isZmesError } from '../errors.js';
import { writeFileAtomic } from '../state/atomic-file.js';
import { buildAddonOptions, type AddonOptions } from './addon-output.js';
import { addonTable } from './addon-table.js';
import { readClassicSource } from './classic-file.js';
import { buildPlan, inlineComment, type SkipReason } from './plan.js';
import { renderReport, type ReportInput } from './report.js';
import { importRules, type RulesImport } from './rules-import.js';
import type { SourceFile } from './source.js';
import { importTokens, type TokensImport } from './tokens-import.js';
import { renderZmesYaml } from './zmes-yaml.js';

export const MIGRATE_USAGE = `Usage: zmes migrate-config [options] FILE

Converts a classic zmeventnotification.ini (v6) or zmeventnotification.yml (v7)
into a zmes YAML configuration, and reports on standard error every key not
carried over and why.

Options:
  --secrets FILE        the classic secrets file (secrets.ini or secrets.yml):
                        "!NAME" values stay references to it and are checked
  --out FILE            write the zmes configuration here (default: standard output)
  --addon-options FILE  also write Home Assistant add-on options (.json: JSON,
                        else YAML for the add-on's Configuration tab)
  --tokens FILE         import the classic tokens.txt (either format); needs --data-dir
  --data-dir DIR        zmes data directory (general.base_data_path); tokens go to
                        DIR/push/tokens.txt
  --rules FILE          import the classic rules file (es_rules.json or .yml) as YAML
  --rules-out FILE      where the rules go (default: es_rules.yml next to --out)
  --force               overwrite existing output files
  --help                print this help

Exit status: 0 done (see the report), 64 bad command line, 73 an output file
exists (use --force), 78 an input is invalid or the result does not load.
`;

const EXIT = { ok: 0, failure: 1, usage: 64, cantCreate: 73, config: 78 } as const;

export interface MigrateIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

interface Arguments {
  input: string;
  secrets?: string;
  out?: string;
  addonOptions?: string;
  tokens?: string;
  dataDir?: string;
  rules?: string;
  rulesOut?: string;
  force: boolean;
}

class UsageError extends Error {}
class OutputExists extends Error {}

function parse(args: string[]): Arguments | 'help' {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      secrets: { type: 'string' },
      out: { type: 'string' },
      'addon-options': { type: 'string' },
      tokens: { type: 'string' },
      'data-dir': { type: 'string' },
      rules: { type: 'string' },
      'rules-out': { type: 'string' },
      force: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) return 'help';
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'name the classic configuration file to migrate' : 'only one configuration file can be migrated at a time');
  for (const [name, value] of Object.entries(values)) {
    if (typeof value === 'string' && value.trim() === '') throw new UsageError(`option --${name} needs a value`);
  }
  if (values.tokens !== undefined && values['data-dir'] === undefined) throw new UsageError('--tokens needs --data-dir (where zmes keeps its state)');
  let rulesOut = values['rules-out'];
  if (values.rules !== undefined && rulesOut === undefined) {
    if (values.out === undefined) throw new UsageError('--rules needs --rules-out when the configuration goes to standard output');
    rulesOut = join(dirname(values.out), 'es_rules.yml');
  }
  return {
    input: positionals[0]!,
    force: values.force ?? false,
    ...(values.secrets !== undefined ? { secrets: values.secrets } : {}),
    ...(values.out !== undefined ? { out: values.out } : {}),
    ...(values['addon-options'] !== undefined ? { addonOptions: values['addon-options'] } : {}),
    ...(values.tokens !== undefined ? { tokens: values.tokens } : {}),
    ...(values['data-dir'] !== undefined ? { dataDir: values['data-dir'] } : {}),
    ...(values.rules !== undefined ? { rules: values.rules } : {}),
    ...(rulesOut !== undefined ? { rulesOut } : {}),
  };
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw Object.assign(new Error(`cannot read the ${what} ${path}: ${errorMessage(err)}`), { exit: EXIT.config });
  }
}

function readSource(path: string): SourceFile {
  return readClassicSource(readText(path, 'configuration file'), path);
}

/** The secrets the plan checks against: --secrets, else the file the classic config names, when it is here. */
function secretsFor(args: Arguments, source: SourceFile, notes: string[]): { map: ReadonlyMap<string, string> | null; path: string | null } {
  let path: string | null = null;
  if (args.secrets !== undefined) path = resolve(args.secrets);
  else {
    const named = source.entries.find((e) => e.section === 'general' && e.key === 'secrets')?.value.trim();
    if (named && existsSync(named)) {
      path = named;
      notes.push(`secrets read from ${named}, the file the classic configuration names`);
    }
  }
  if (path === null) return { map: null, path: null };
  const map = readSecretsFile(path);
  // Secrets INI files keep inline comments in values too; name the secret, never its value.
  if (/^\s*\[\s*secrets\s*\]/m.test(readFileSync(path, 'utf8'))) {
    for (const [name, value] of map) {
      if (inlineComment(value, 'ini')) notes.push(`secret ${name} in ${path} looks like it carries an inline comment, which is read as part of the secret; check it`);
    }
  }
  return { map, path };
}

function ensureWritable(path: string, force: boolean): void {
  if (existsSync(path) && !force) throw new OutputExists(`${path} exists; use --force to overwrite it`);
}

/** Loads the rendered configuration the way zmes will: from a file, secrets resolved. */
function checkLoads(yamlText: string, secretsResolvable: boolean, hasSecretRefs: boolean): ReportInput['check'] {
  if (hasSecretRefs && !secretsResolvable) {
    return { ok: 'skipped', why: 'values refer to secrets and no secrets file was given (--secrets); run zmes --check-config on the result' };
  }
  const dir = mkdtempSync(join(tmpdir(), 'zmes-migrate-'));
  try {
    const file = join(dir, 'zmes.yml');
    writeFileSync(file, yamlText, { mode: 0o600 });
    const loaded = loadConfig({ file, env: {} });
    return { ok: true, warnings: loaded.warnings };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function migrateConfig(argv: string[], io: MigrateIo): Promise<number> {
  let args: Arguments;
  try {
    const parsed = parse(argv);
    if (parsed === 'help') {
      io.stdout(MIGRATE_USAGE);
      return EXIT.ok;
    }
    args = parsed;
  } catch (err) {
    io.stderr(`zmes migrate-config: ${errorMessage(err)}\n\n${MIGRATE_USAGE}`);
    return EXIT.usage;
  }
  try {
    return run(args, io);
  } catch (err) {
    io.stderr(`zmes migrate-config: ${err instanceof Error ? err.message : String(err)}\n`);
    if (err instanceof OutputExists) return EXIT.cantCreate;
    const exit = (err as { exit?: unknown }).exit;
    if (typeof exit === 'number') return exit;
    return isZmesError(err) ? EXIT.config : EXIT.failure;
  }
}

function run(args: Arguments, io: MigrateIo): number {
  // 1. Read and check every input.
  const source = readSource(args.input);
  const extraNotes: string[] = [];
  const secrets = secretsFor(args, source, extraNotes);
  const set = new Map<OptionKey, { value: string; why: string }>();
  const drop = new Map<OptionKey, { reason: SkipReason; why: string }>();
  if (args.secrets !== undefined && secrets.path !== null) set.set('general.secrets', { value: secrets.path, why: 'the secrets file given with --secrets' });
  const dataDir = args.dataDir === undefined ? undefined : resolve(args.dataDir);
  const tokensPath = dataDir === undefined ? undefined : join(dataDir, 'push', 'tokens.txt');
  if (dataDir !== undefined) {
    set.set('general.base_data_path', { value: dataDir, why: 'the data directory given with --data-dir' });
    drop.set('fcm.token_file', { reason: 'replaced', why: `zmes keeps the tokens under the data directory (${tokensPath}, the default)` });
  }
  const rulesOut = args.rulesOut === undefined ? undefined : resolve(args.rulesOut);
  if (rulesOut !== undefined) set.set('customize.es_rules', { value: rulesOut, why: 'the rules file written with --rules' });

  const built = buildPlan(source, { secrets: secrets.map, set, drop });
  const plan = { ...built, notes: [...built.notes, ...extraNotes] };
  const yamlText = renderZmesYaml(plan, { source: resolve(args.input), format: source.format });
  const check = checkLoads(yamlText, secrets.map !== null, plan.carried.some((c) => c.secret !== null));

  let tokens: TokensImport | undefined;
  if (args.tokens !== undefined) tokens = importTokens(readText(args.tokens, 'token file'), args.tokens, new Date().getMonth());
  let rules: RulesImport | undefined;
  if (args.rules !== undefined) rules = importRules(readText(args.rules, 'rules file'), args.rules);
  let addon: AddonOptions | undefined;
  if (args.addonOptions !== undefined) addon = buildAddonOptions(plan, addonTable());

  // 2. Refuse to overwrite, before writing anything.
  const outputs = [args.out, args.addonOptions, tokens ? tokensPath : undefined, rules ? rulesOut : undefined].filter((p): p is string => p !== undefined);
  for (const path of outputs) ensureWritable(path, args.force);

  // 3. Write. 0600: a classic file may hold passwords in clear.
  if (args.out !== undefined) writeFileAtomic(args.out, yamlText, 0o600);
  else io.stdout(yamlText);
  if (addon && args.addonOptions !== undefined) writeFileAtomic(args.addonOptions, addonText(addon, args.addonOptions, args.input), 0o600);
  if (tokens && tokensPath !== undefined) writeFileAtomic(tokensPath, tokens.text, 0o600);
  if (rules && rulesOut !== undefined) writeFileAtomic(rulesOut, rules.text, 0o644);

  io.stderr(
    renderReport({
      source: args.input,
      format: source.format,
      entries: source.entries.length,
      plan,
      out: args.out ?? 'standard output',
      ...(addon && args.addonOptions !== undefined ? { addon: { result: addon, path: args.addonOptions } } : {}),
      ...(tokens && tokensPath !== undefined && args.tokens !== undefined ? { tokens: { result: tokens, from: args.tokens, path: tokensPath } } : {}),
      ...(rules && rulesOut !== undefined && args.rules !== undefined ? { rules: { result: rules, from: args.rules, path: rulesOut } } : {}),
      check,
    }),
  );
  return check.ok === false ? EXIT.config : EXIT.ok;
}

/** JSON for options.json, YAML (with a header) for the add-on's Configuration tab. */
function addonText(addon: AddonOptions, path: string, input: string): string {
  if (extname(path).toLowerCase() === '.json') return JSON.stringify(addon.options, null, 2) + '\n';
  return `# Home Assistant add-on options migrated from ${input} by "zmes migrate-config";\n# paste into the add-on's Configuration tab (Edit in YAML).\n` + stringify(addon.options);
}

/**
 * Reads the rules file (`customize.es_rules`): JSON (classic v6) or YAML (v7), chosen by the
 * extension, else by the content. Validated at load (rules.ts); reloaded when the file changes,
 * checked by a cheap stat at most once per interval when rules are used.
 */
import { readFile, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { Clock } from '../../clock.js';
import { errorMessage } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import { NO_RULES, parseRules, type RuleSet } from './rules.js';

export interface RulesFileOptions {
  readonly path: string;
  readonly log: Logger;
  readonly clock: Clock;
  /** Minimum time between two stats of the file; 0 checks on every use. Default 1000 ms. */
  readonly checkIntervalMs?: number;
}

/** Where rules come from, for the rules stage. */
export type RuleSource = () => Promise<RuleSet>;

/** The text of a rules file as a document, or why it is not one. */
export function parseRulesText(text: string, path: string): { ok: true; doc: unknown } | { ok: false; error: string } {
  const ext = extname(path).toLowerCase();
  const json = ext === '.json' || (ext !== '.yml' && ext !== '.yaml' && text.trimStart().startsWith('{'));
  try {
    return { ok: true, doc: json ? (JSON.parse(text) as unknown) : (parseYaml(text) as unknown) };
  } catch (err) {
    return { ok: false, error: `not valid ${json ? 'JSON' : 'YAML'}: ${errorMessage(err)}` };
  }
}

export class RulesFile {
  private rules: RuleSet = NO_RULES;
  /** Identity of the content last read (or of the last failure), so changes are noticed and failures logged once. */
  private stamp: string | null = null;
  private lastCheck = Number.NEGATIVE_INFINITY;
  private checking: Promise<RuleSet> | null = null;
  private readonly interval: number;

  constructor(private readonly options: RulesFileOptions) {
    this.interval = options.checkIntervalMs ?? 1000;
  }

  get path(): string {
    return this.options.path;
  }

  /** The rules, re-read first when the file changed since the last check (at most once per interval). */
  current(): Promise<RuleSet> {
    if (this.options.clock.now() - this.lastCheck < this.interval) return Promise.resolve(this.rules);
    return this.load();
  }

  /** Checks the file now; concurrent callers share one check. Never rejects. */
  load(): Promise<RuleSet> {
    this.checking ??= this.check().finally(() => {
      this.checking = null;
    });
    return this.checking;
  }

  private async check(): Promise<RuleSet> {
    const { path, log } = this.options;
    this.lastCheck = this.options.clock.now();
    let stamp: string;
    try {
      const s = await stat(path);
      stamp = `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
    } catch (err) {
      return this.fail(`error:${(err as NodeJS.ErrnoException).code ?? 'stat'}`, `rules file ${path} cannot be read (${errorMessage(err)}): no rules applied`);
    }
    if (stamp === this.stamp) return this.rules;

    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      return this.fail(`error:${(err as NodeJS.ErrnoException).code ?? 'read'}`, `rules file ${path} cannot be read (${errorMessage(err)}): no rules applied`);
    }
    const parsed = parseRulesText(text, path);
    if (!parsed.ok) return this.fail(stamp, `rules file ${path} is ${parsed.error}: no rules applied`);

    const { rules, problems } = parseRules(parsed.doc);
    for (const problem of problems) log[problem.level](`rules file ${path}: ${problem.message}`);
    const count = [...rules.values()].reduce((n, list) => n + list.length, 0);
    log.info(`rules file ${path} ${this.stamp === null ? 'loaded' : 'reloaded'}: ${count} rule${count === 1 ? '' : 's'} for ${rules.size} monitor${rules.size === 1 ? '' : 's'}`);
    this.stamp = stamp;
    this.rules = rules;
    return rules;
  }

  /** No rules; the reason is logged once per distinct failure, not on every event. */
  private fail(stamp: string, message: string): RuleSet {
    if (stamp !== this.stamp) this.options.log.error(message);
    this.stamp = stamp;
    this.rules = NO_RULES;
    return NO_RULES;
  }
}

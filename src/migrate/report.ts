/**
 * The migration report (written to stderr): every key not carried over, with the reason, for
 * the zmes configuration and for the add-on options, then what else was imported and what is
 * left to do. Never shows a sensitive value (the plan's details never hold one).
 */
import type { AddonOptions } from './addon-output.js';
import type { MigrationPlan, Skipped } from './plan.js';
import type { RulesImport } from './rules-import.js';
import type { TokensImport } from './tokens-import.js';
import { REASON_TEXT } from './zmes-yaml.js';

export interface ReportInput {
  readonly source: string;
  readonly format: 'ini' | 'yaml';
  readonly entries: number;
  readonly plan: MigrationPlan;
  /** Where the zmes configuration went ("standard output" or a path). */
  readonly out: string;
  readonly addon?: { readonly result: AddonOptions; readonly path: string };
  readonly tokens?: { readonly result: TokensImport; readonly from: string; readonly path: string };
  readonly rules?: { readonly result: RulesImport; readonly from: string; readonly path: string };
  /** The outcome of loading the written configuration with loadConfig. */
  readonly check: { readonly ok: true; readonly warnings: readonly string[] } | { readonly ok: false; readonly error: string } | { readonly ok: 'skipped'; readonly why: string };
}

export function renderReport(input: ReportInput): string {
  const { plan } = input;
  const lines: string[] = [
    `zmes migrate-config: ${input.source} (classic ${input.format === 'ini' ? 'v6 INI' : 'v7 YAML'}, ${input.entries} key(s))`,
    `zmes configuration: ${plan.carried.length} key(s) carried over, written to ${input.out}`,
  ];
  if (plan.skipped.length === 0) lines.push('  every key was carried over');
  else {
    lines.push(`Not carried over into the zmes configuration (${plan.skipped.length}):`);
    const width = Math.max(...plan.skipped.map((s) => s.id.length));
    for (const s of plan.skipped) {
      lines.push(`  ${(s.line > 0 ? `line ${s.line}` : '').padEnd(9)} ${s.id.padEnd(width)}  ${skippedText(s)}`);
    }
  }
  if (plan.notes.length > 0) {
    lines.push('Notes:');
    for (const note of plan.notes) lines.push(`  - ${note}`);
  }
  const check = input.check;
  if (check.ok === true) {
    lines.push('Check: the zmes configuration loads cleanly.');
    for (const warning of check.warnings) lines.push(`  warning: ${warning}`);
  } else if (check.ok === false) lines.push(`Check FAILED: the zmes configuration does not load: ${check.error}`);
  else lines.push(`Check skipped: ${check.why}`);

  if (input.addon) {
    const { result, path } = input.addon;
    lines.push(`Add-on options: ${Object.keys(result.options).length} option(s), written to ${path}`);
    if (result.skipped.length > 0) {
      lines.push(`Not carried over into the add-on options (${result.skipped.length}):`);
      const width = Math.max(...result.skipped.map((s) => s.key.length));
      for (const s of result.skipped) lines.push(`  ${s.key.padEnd(width)}  ${s.reason}: ${s.detail}`);
    }
    if (result.todo.length > 0) {
      lines.push('To do for the add-on:');
      for (const item of result.todo) lines.push(`  - ${item}`);
    }
  }
  if (input.tokens) {
    const { result, from, path } = input.tokens;
    const format = result.format === 'lines' ? 'old line format' : result.format === 'json' ? 'JSON format' : 'empty file';
    lines.push(`Tokens: ${result.count} device(s) imported from ${from} (${format}) into ${path}`);
    for (const warning of result.warnings) lines.push(`  warning: ${warning}`);
  }
  if (input.rules) {
    const { result, from, path } = input.rules;
    const how = result.format === 'json' ? 'converted from JSON to YAML' : 'YAML kept as written';
    lines.push(`Rules: ${result.rules} rule(s) for ${result.monitors} monitor(s) from ${from}, ${how}, written to ${path}`);
    for (const problem of result.problems) lines.push(`  ${problem}`);
  }
  return lines.join('\n') + '\n';
}

/** Why a key was not taken over, in the words of the report; zmes --config with a classic file logs the same. */
export function skippedText(skip: Skipped): string {
  return `${REASON_TEXT[skip.reason]}: ${skip.detail}`;
}

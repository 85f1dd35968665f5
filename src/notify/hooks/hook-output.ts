/**
 * The hook result contract (classic-config.md §8.2), pure: exit code 0 and some text on stdout
 * is success; stdout is `<text>--SPLIT--<json>`, the JSON part optional (default `[]`).
 */
import type { JsonValue } from '../../domain/json.js';

export const SPLIT_MARKER = '--SPLIT--';

/** What a hook's stdout says. */
export interface HookOutput {
  /** The text part, trimmed. */
  readonly text: string;
  /** The JSON part as text (trimmed), `[]` when there is none; what user scripts receive. */
  readonly jsonText: string;
  /** The parsed JSON part; `[]` when missing or invalid. */
  readonly json: JsonValue;
  /** Why the JSON part was unusable, when it was. */
  readonly jsonError: string | null;
}

export function parseHookOutput(stdout: string): HookOutput {
  const at = stdout.indexOf(SPLIT_MARKER);
  const text = (at < 0 ? stdout : stdout.slice(0, at)).trim();
  const jsonText = at < 0 ? '' : stdout.slice(at + SPLIT_MARKER.length).trim();
  if (jsonText === '') return { text, jsonText: '[]', json: [], jsonError: null };
  try {
    return { text, jsonText, json: JSON.parse(jsonText) as JsonValue, jsonError: null };
  } catch (err) {
    // Classic defect #14: this killed the event's worker and the event was lost. Here it is a
    // failed hook whose detection is `[]`; the event is still notified (by the fail routing).
    return { text, jsonText, json: [], jsonError: err instanceof Error ? err.message : String(err) };
  }
}

/** How one hook run ended, as the process reported it. */
export interface ProcessEnd {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  /** errno code when the program could not be started (ENOENT, EACCES…). */
  readonly spawnError: string | null;
}

/**
 * The hook's result code, the number MQTT's `hookvalue` and the user scripts receive: the raw
 * exit code, except
 * - a timeout counts as exit 1 (Ng ES);
 * - exit 0 with empty output is 1 (classic: "empty output forces failure");
 * - exit 0 with invalid JSON after `--SPLIT--` is 1 (a failure, see parseHookOutput);
 * - killed by a signal: 128 + its number; not startable: 127 (not found) or 126, as a shell says.
 */
export function resultCode(end: ProcessEnd, output: HookOutput, signalNumber: (name: string) => number | undefined): number {
  if (end.timedOut) return 1;
  if (end.spawnError !== null) return end.spawnError === 'ENOENT' ? 127 : 126;
  if (end.exitCode === null) return 128 + (end.signal !== null ? (signalNumber(end.signal) ?? 0) : 0);
  if (end.exitCode !== 0) return end.exitCode;
  if (output.text === '' || output.jsonError !== null) return 1;
  return 0;
}

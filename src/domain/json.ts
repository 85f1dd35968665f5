/** JSON values as zmes handles them: read-only, so a value shared between channels cannot be changed by one of them. */
export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | readonly JsonValue[] | { readonly [key: string]: JsonValue };
export type JsonObject = { readonly [key: string]: JsonValue };

/** A short printable-ASCII rendering of an untrusted value, safe to echo back to a client and to log. */
export function sanitiseEcho(value: unknown, maxChars = 32): string {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'number' || typeof value === 'boolean') text = String(value);
  else return '';
  let out = '';
  for (const ch of text) {
    if (out.length >= maxChars) break;
    const code = ch.codePointAt(0) ?? 0;
    out += code >= 0x20 && code <= 0x7e ? ch : '?';
  }
  return out;
}

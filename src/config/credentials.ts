/**
 * Credentials that travel inside URLs (picture_url with `&password=`, `user:pass@host`,
 * ZoneMinder `&token=`/`&auth=`): found so the logger can redact them, masked for display.
 */

const USERINFO = /([a-z][a-z0-9+.-]*:\/\/)([^/\s:@]*):([^/\s@]*)@/gi;
const QUERY_SECRET = /([?&;](?:password|passwd|pass|pwd|token|auth)=)([^&#\s]*)/gi;

export const MASK = '***';

/** The URL with passwords and tokens replaced by `***`; other text is returned unchanged. */
export function maskUrlCredentials(text: string): string {
  return text
    .replace(USERINFO, (_whole, scheme: string, user: string) => `${scheme}${user}:${MASK}@`)
    .replace(QUERY_SECRET, (_whole, name: string, value: string) => (value === '' ? name : `${name}${MASK}`));
}

/** The passwords and tokens inside a URL, raw and URL-decoded, for redaction. */
export function urlCredentials(text: string): string[] {
  const found = new Set<string>();
  for (const match of text.matchAll(USERINFO)) if (match[3]) found.add(match[3]);
  for (const match of text.matchAll(QUERY_SECRET)) if (match[2]) found.add(match[2]);
  for (const value of [...found]) {
    try {
      found.add(decodeURIComponent(value));
    } catch {
      // Not valid percent-encoding: the raw form is all that can appear in a log.
    }
  }
  return [...found];
}

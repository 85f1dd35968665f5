import { createRequire } from 'node:module';
import type uWS from 'uWebSockets.js';
import { errorMessage, ZmesError } from '../errors.js';

type Uws = typeof uWS;
let loaded: Uws | undefined;

/**
 * uWebSockets.js, loaded on first use so that a binary that cannot load becomes a clear error
 * (exit 1 with the reason) instead of a stack trace at import time. Two ways it fails:
 * - the official build (Node 22+) throws when its binary needs a newer glibc than the system's
 *   (`GLIBC_2.38 not found` on Debian 12);
 * - the Node 20 build (@trufflesuite/uws-js-unofficial) silently falls back to a JavaScript stub
 *   (no SSLApp, no pub/sub, no user data) when no binary matches the Node ABI. Serving with the
 *   stub would half-work, so zmes refuses to start.
 */
export function loadUws(): Uws {
  if (loaded !== undefined) return loaded;
  const where = `Node ${process.version} (ABI ${process.versions.modules}) on ${process.platform}/${process.arch}`;
  let module: Uws;
  try {
    module = createRequire(import.meta.url)('uWebSockets.js') as Uws;
  } catch (err) {
    throw new ZmesError(
      'ZMES_UWS_FALLBACK',
      `uWebSockets.js native binary cannot be loaded on ${where}: ${loaderCause(errorMessage(err))}. ` +
        'The official builds need glibc 2.38 or newer (Debian 13); on Debian 12 use Node.js 20 with the uWebSockets.js build zmes ships (README: "Install on the ZoneMinder host")',
    );
  }
  if (typeof (module as { SSLApp?: unknown }).SSLApp !== 'function') {
    throw new ZmesError(
      'ZMES_UWS_FALLBACK',
      `uWebSockets.js native binary not loaded (JavaScript fallback active): ${where} ` +
        'has no matching binary in the installed uWebSockets.js package; use Node.js 20, or install the official build for this Node.js (README: "Install on the ZoneMinder host")',
    );
  }
  loaded = module;
  return module;
}

/** The loader's own reason: the official build wraps it (`version 'GLIBC_2.38' not found`) in a last line. */
function loaderCause(message: string): string {
  const lines = message.split('\n').map((line) => line.trim()).filter((line) => line !== '');
  return (lines.at(-1) ?? message).replace(/^Error: /, '');
}

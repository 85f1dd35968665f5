import uWS from 'uWebSockets.js';
import { ZmesError } from '../errors.js';

/**
 * The uWebSockets.js package used for development silently falls back to a JavaScript
 * stub (no SSLApp, no pub/sub, no user data) when its native binary does not match the
 * Node ABI or glibc. Serving with the stub would half-work, so refuse to start instead.
 */
export function loadUws(): typeof uWS {
  if (typeof (uWS as { SSLApp?: unknown }).SSLApp !== 'function') {
    throw new ZmesError(
      'ZMES_UWS_FALLBACK',
      `uWebSockets.js native binary not loaded (JavaScript fallback active): ` +
        `Node ${process.version} (ABI ${process.versions.modules}) on ${process.platform}/${process.arch} ` +
        `has no matching binary in the installed uWebSockets.js package; install the build that matches this Node.js`,
    );
  }
  return uWS;
}

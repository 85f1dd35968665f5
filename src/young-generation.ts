/**
 * Keeps V8's young generation small. Left alone it grows from 1 MB to 16 MB per semi-space
 * (32 MB in all) during start-up's burst of allocations and keeps that while the server idles,
 * although what zmes allocates between two polls is a few kilobytes: a quarter of the idle
 * process's memory held for nothing. Without growth, a burst (a fan-out to thousands of sockets,
 * a login storm) costs more scavenges, each as short as what survives it, i.e. a few milliseconds
 * at most.
 *
 * Imported first by the entry points, so that it runs before the other modules are evaluated.
 * The growth factor is read by V8 each time it considers growing the space, so setting it at
 * run time takes effect (unlike --max-semi-space-size, read once at start-up).
 */
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--semi-space-growth-factor=1');

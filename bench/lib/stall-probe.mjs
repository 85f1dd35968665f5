// Preloaded into a benchmarked zmes process (`node --import …/stall-probe.mjs dist/src/main.js`):
// measures that process's own event-loop delay (1 ms resolution) and garbage-collection pauses,
// so the benchmark harness's work and collections never count. Each SIGUSR2 prints one line,
// `STALL-PROBE <n> <json>`, with what was measured since the previous one, and starts afresh.
// Plain JavaScript: the shipped server runs without a TypeScript loader.
import { PerformanceObserver, constants, monitorEventLoopDelay } from 'node:perf_hooks';

let histogram = monitorEventLoopDelay({ resolution: 1 });
let pauses = [];
let reports = 0;
const gc = new PerformanceObserver((list) => pauses.push(...list.getEntries()));
gc.observe({ entryTypes: ['gc'] });
histogram.enable();

process.on('SIGUSR2', () => {
  histogram.disable();
  const ms = (ns) => ns / 1e6;
  const major = pauses.filter((entry) => entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR);
  const report = {
    p50: ms(histogram.percentile(50)),
    p90: ms(histogram.percentile(90)),
    p99: ms(histogram.percentile(99)),
    max: ms(histogram.max),
    gcPauses: pauses.length,
    gcMajor: major.length,
    gcLongest: pauses.reduce((longest, entry) => Math.max(longest, entry.duration), 0),
    gcMajorLongest: major.reduce((longest, entry) => Math.max(longest, entry.duration), 0),
    gcTotal: pauses.reduce((total, entry) => total + entry.duration, 0),
  };
  reports += 1;
  process.stdout.write(`STALL-PROBE ${reports} ${JSON.stringify(report)}\n`);
  histogram = monitorEventLoopDelay({ resolution: 1 });
  pauses = [];
  histogram.enable();
});

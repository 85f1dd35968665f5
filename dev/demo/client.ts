#!/usr/bin/env node
/**
 * A tiny event-server client for the demo, nothing to install and no prompt:
 *
 *   node --import tsx dev/demo/client.ts [ws://HOST:PORT] [--user demo] [--password demo] [--count N]
 *
 * Logs in (as zmNinja would), then prints one line per alarm until Ctrl-C, or until N alarms
 * were printed. The URL defaults to ws://127.0.0.1:$ZMES_DEMO_PORT (9000). Exits 1 when the
 * server cannot be reached or refuses the login.
 */
import { parseArgs } from 'node:util';
import WebSocket from 'ws';

interface AlarmEvent {
  readonly MonitorId?: unknown;
  readonly MonitorName?: unknown;
  readonly EventId?: unknown;
  readonly Cause?: unknown;
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      user: { type: 'string', default: 'demo' },
      password: { type: 'string', default: 'demo' },
      count: { type: 'string' },
    },
  });
  const url = positionals[0] ?? `ws://127.0.0.1:${process.env['ZMES_DEMO_PORT'] ?? '9000'}`;
  const limit = values.count === undefined ? Infinity : Number(values.count);
  if (!(limit > 0)) fail(`--count needs a positive number, not ${String(values.count)}`);
  let printed = 0;

  const ws = new WebSocket(url);
  ws.on('open', () => ws.send(JSON.stringify({ event: 'auth', data: { user: values.user, password: values.password, appversion: 'zmes-demo-client' } })));
  ws.on('message', (data) => {
    let frame: Record<string, unknown>;
    try {
      frame = JSON.parse(data.toString()) as Record<string, unknown>;
    } catch {
      return;
    }
    if (frame['event'] === 'auth') {
      if (frame['status'] !== 'Success') fail(`login as ${values.user} refused: ${String(frame['reason'])}`);
      console.log(`logged in to ${url} as ${values.user} (${String(frame['server'] ?? 'event server')}); waiting for alarms, Ctrl-C to stop`);
      return;
    }
    if (frame['event'] !== 'alarm' || !Array.isArray(frame['events'])) return;
    for (const alarm of frame['events'] as AlarmEvent[]) {
      console.log(`alarm: ${String(alarm.MonitorName)} (monitor ${String(alarm.MonitorId)}) event ${String(alarm.EventId)}: ${String(alarm.Cause)}`);
      if (++printed >= limit) {
        ws.close(1000);
        return;
      }
    }
  });
  ws.on('error', (err) => fail(`cannot talk to ${url}: ${err.message} (is npm run demo running?)`));
  let stopped = false;
  ws.on('close', (code) => {
    if (!stopped && printed < limit) console.error(`demo client: the server closed the connection (${code})`);
    process.exit(stopped || printed >= limit ? 0 : 1);
  });
  process.on('SIGINT', () => {
    stopped = true;
    ws.close(1000);
  });
}

function fail(message: string): never {
  console.error(`demo client: ${message}`);
  process.exit(1);
}

main();

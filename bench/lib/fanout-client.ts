// Child process of bench/fanout.ts: opens N authenticated WebSocket connections, says "ready",
// then records when each receives its alarm frame and prints the arrival times as JSON, with
// the CPU time this process spent from "ready" until the last arrival (receiving the alarm).
import WebSocket from 'ws';
import { readFileSync } from 'node:fs';

interface Job {
  url: string;
  connections: number;
  ca?: string;
}

const job = JSON.parse(process.argv[2] ?? '{}') as Job;
const ca = job.ca ? readFileSync(job.ca) : undefined;
const now = () => performance.timeOrigin + performance.now();
const arrivals: number[] = [];
const sockets: WebSocket[] = [];
let cpuAtReady: NodeJS.CpuUsage | undefined;

async function open(): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const ws = new WebSocket(job.url, { ca, perMessageDeflate: false });
    sockets.push(ws);
    ws.on('open', () => ws.send('{"event":"auth","data":{"user":"bench","password":"bench"}}'));
    ws.on('message', (data) => {
      const text = data.toString();
      if (text.includes('"event":"auth"')) resolve();
      else if (text.includes('"event":"alarm"')) {
        arrivals.push(now());
        if (arrivals.length === job.connections) {
          const cpu = process.cpuUsage(cpuAtReady);
          process.stdout.write(JSON.stringify({ arrivals: [Math.min(...arrivals), Math.max(...arrivals)], count: arrivals.length, cpuMicros: cpu.user + cpu.system }) + '\n');
          process.exit(0);
        }
      }
    });
    ws.on('error', reject);
  });
}

// Open in waves so the server's accept queue is not overrun.
for (let i = 0; i < job.connections; i += 200) {
  await Promise.all(Array.from({ length: Math.min(200, job.connections - i) }, () => open()));
}
cpuAtReady = process.cpuUsage();
process.stdout.write('ready\n');

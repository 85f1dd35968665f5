// Benchmark (not a test): the resident memory of a real zmes process (the compiled server, as
// installed: `node dist/src/main.js`) after 20 s idle, for four setups: bare (WebSocket only),
// push through the classic FCM proxy, MQTT, and everything (direct FCM with a service-account
// file, MQTT with Home Assistant discovery, hooks, rules, escontrol, the status page); and the
// common Home Assistant setup, proxy push with MQTT.
// Each setup runs REPEAT times; the median is printed with the range.
// Run: node --import tsx bench/memory.ts [idle seconds] [setup,setup…]   (needs the test MariaDB and Mosquitto on 127.0.0.1:1883;
// ZMES_BENCH_REPEAT sets the runs per setup; ZMES_BENCH_NODE_ARGS adds options to the measured node;
// ZMES_BENCH_IMAGE=.cache/image-rootfs measures the add-on image's Node 22 and build inside the root
// filesystem `sudo npm run check:image` made, with chroot, as root). Figures before and after: bench/RESULTS.md.
import { generateKeyPairSync } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createZmTestDatabase } from '../test/helpers/zm-db.js';
import { startFakeFcmProxy } from '../test/helpers/fake-fcm-proxy.js';
import { buildShippedServer, startShippedServer, type Runtime, type Settings } from './lib/shipped-server.js';

const IDLE_MS = Number(process.argv[2] ?? 20) * 1000;
const REPEAT = Number(process.env.ZMES_BENCH_REPEAT ?? 3);
// Extra options for the measured `node` (ZMES_BENCH_NODE_ARGS="--jitless …"), to compare runtimes' settings.
const NODE_ARGS = (process.env.ZMES_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);

// The image: its node and its /opt/zmes (the bundle and the uWS build for Node 22), run with
// chroot; the server shares this machine's network, so the test MariaDB and broker are reachable.
const IMAGE = process.env.ZMES_BENCH_IMAGE ? resolve(process.env.ZMES_BENCH_IMAGE) : undefined;
const mounts: string[] = [];
if (IMAGE) {
  if (!existsSync(join(IMAGE, 'opt/zmes/dist/src/main.js'))) throw new Error(`${IMAGE} holds no image root filesystem: run sudo npm run check:image first`);
  if (!existsSync(join(IMAGE, 'proc/self'))) {
    execFileSync('mount', ['-t', 'proc', 'proc', join(IMAGE, 'proc')]);
    mounts.push(join(IMAGE, 'proc'));
  }
  if (!existsSync(join(IMAGE, 'dev/null'))) {
    execFileSync('mount', ['--bind', '/dev', join(IMAGE, 'dev')]);
    mounts.push(join(IMAGE, 'dev'));
  }
}
const RUNTIME: Runtime | undefined = IMAGE ? { command: 'chroot', args: [IMAGE, '/usr/local/bin/node'] } : undefined;
const MAIN = IMAGE ? '/opt/zmes/dist/src/main.js' : buildShippedServer();
/** A path of this machine as the server sees it (inside the image's root). */
const seen = (path: string) => (IMAGE ? path.slice(IMAGE.length) : path);

const db = await createZmTestDatabase({ appUser: true });
const proxy = await startFakeFcmProxy({ key: 'bench-key' });
const work = mkdtempSync(join(IMAGE ? join(IMAGE, 'tmp') : tmpdir(), 'zmes-memory-'));
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const serviceAccount = join(work, 'service-account.json');
writeFileSync(
  serviceAccount,
  JSON.stringify({
    type: 'service_account',
    project_id: 'zmes-bench',
    private_key_id: 'bench',
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    client_email: 'bench@zmes-bench.iam.gserviceaccount.com',
    client_id: '1',
    token_uri: 'https://oauth2.googleapis.com/token',
  }),
);
const rules = join(work, 'es_rules.json');
writeFileSync(rules, JSON.stringify({ notifications: { monitors: { '2': { rules: [{ time_format: '%H:%M', from: '17:00', to: '06:00', action: 'mute' }] } } } }));
const hook = join(work, 'hook.sh');
writeFileSync(hook, '#!/bin/sh\nexit 0\n', { mode: 0o755 });

const app = db.appSettings!;
const base: Settings = {
  'network.address': '127.0.0.1',
  'network.port': 0,
  'database.host': app.host,
  'database.port': app.port,
  'database.name': app.database,
  'database.user': app.user,
  'ssl.enable': false,
  'general.log_level': 'info',
  'fcm.enable': false,
  'mqtt.enable': false,
};
const setups: Record<string, Settings> = {
  bare: {},
  'proxy push': { 'fcm.enable': true, 'fcm.fcm_v1_url': proxy.url, 'fcm.fcm_v1_key': 'bench-key' },
  mqtt: { 'mqtt.enable': true, 'mqtt.server': '127.0.0.1:1883', 'mqtt.topic': `zmes-bench-${process.pid}` },
  'proxy+mqtt': {
    'fcm.enable': true,
    'fcm.fcm_v1_url': proxy.url,
    'fcm.fcm_v1_key': 'bench-key',
    'mqtt.enable': true,
    'mqtt.server': '127.0.0.1:1883',
    'mqtt.topic': `zmes-bench-${process.pid}`,
  },
  everything: {
    'fcm.enable': true,
    'fcm.fcm_service_account_file': seen(serviceAccount),
    'mqtt.enable': true,
    'mqtt.server': '127.0.0.1:1883',
    'mqtt.topic': `zmes-bench-${process.pid}`,
    'customize.use_hooks': true,
    'hook.event_start_hook': seen(hook),
    'customize.es_rules': seen(rules),
    'general.use_escontrol_interface': true,
    'hook.event_start_notify_on_hook_success': 'all',
    'status.enable': true,
    'status.port': 0,
  },
};

interface Sample {
  rss: number;
  anon: number;
  file: number;
}

/**
 * Resident set size of a process in bytes, from one read of /proc (VmRSS is what `ps` and the
 * add-on's page show), split into anonymous memory (heaps, stacks) and file-backed pages (the
 * `node` binary and native modules, shared with other processes mapping the same files).
 */
function residentOf(pid: number): Sample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => {
    const kb = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status);
    if (!kb) throw new Error(`no ${name} for process ${pid}`);
    return Number(kb[1]) * 1024;
  };
  return { rss: field('VmRSS'), anon: field('RssAnon'), file: field('RssFile') };
}

async function measure(settings: Settings): Promise<Sample> {
  const dataDir = mkdtempSync(join(work, 'data-'));
  const zmes = startShippedServer(
    MAIN,
    { ...base, ...settings, 'general.base_data_path': seen(dataDir) },
    { ZMES_DATABASE_PASSWORD: app.password, ZMES_GENERAL_ESCONTROL_INTERFACE_PASSWORD: 'bench-admin' },
    NODE_ARGS,
    RUNTIME,
  );
  try {
    await zmes.waitFor(/zmes \S+ ready/);
    const started = Date.now();
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    if (zmes.pid === undefined) throw new Error('zmes did not start');
    const sample = residentOf(zmes.pid);
    if (Date.now() - started < IDLE_MS) throw new Error('woke early');
    if (/^\S+ (ERROR|FATAL) /m.test(zmes.output())) throw new Error(`zmes reported an error:\n${zmes.output()}`);
    return sample;
  } finally {
    const { code } = await zmes.stop();
    if (code !== 0) console.error(`zmes exited with ${code}:\n${zmes.output()}`);
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
try {
  const version = RUNTIME ? execFileSync(RUNTIME.command, [...RUNTIME.args, '--version'], { encoding: 'utf8' }).trim() : process.version;
  console.log(`zmes RSS after ${IDLE_MS / 1000} s idle, Node ${version}${IMAGE ? ' (the add-on image)' : ''}, median of ${REPEAT} (range)`);
  const only = process.argv[3]?.split(',');
  for (const [name, settings] of Object.entries(setups).filter(([name]) => !only || only.includes(name))) {
    const samples: Sample[] = [];
    for (let i = 0; i < REPEAT; i++) samples.push(await measure(settings));
    const rss = samples.map((sample) => sample.rss);
    console.log(
      `${name.padEnd(12)} ${mb(median(rss)).padStart(6)} MB  (${mb(Math.min(...rss))}–${mb(Math.max(...rss))})` +
        `  anonymous ${mb(median(samples.map((sample) => sample.anon)))} MB, file-backed ${mb(median(samples.map((sample) => sample.file)))} MB`,
    );
  }
} finally {
  await proxy.close();
  await db.drop();
  rmSync(work, { recursive: true, force: true });
  for (const mount of mounts.reverse()) execFileSync('umount', ['-l', mount]);
}

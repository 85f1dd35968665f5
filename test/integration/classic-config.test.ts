// A classic zmeventnotification.ini, used as it is: the realistic fixture (every section,
// secrets.ini, {{base_data_path}} templates) starts the real zmes process, which serves a real
// zmNinja-style WSS client alarms from a throwaway ZoneMinder database. Command-line flags
// (classic and generic) and environment variables adapt it to this machine.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { ZmSimulator } from '../../dev/sim/zm-simulator.js';
import { generateCertificate } from '../helpers/certs.js';
import { connectClient, type TestClient } from '../helpers/ws-client.js';
import { createZmTestDatabase, type ZmTestDatabase } from '../helpers/zm-db.js';
import { insertZmUser, zmPasswordHash } from '../helpers/zmes-server.js';
import { cleanEnvironment, startProcess, type ZmesProcess } from '../helpers/zmes-process.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'migrate');
const SECRET_VALUES = ['mqtt-pw', 'es-admin-pw', 'zm-portal-pw'];
const DETECTION = '{"labels":["person"],"boxes":[[1,2,3,4]],"frame_id":"alarm","confidences":[0.97],"image_dimensions":{}}';

function startZmes(args: string[], env: NodeJS.ProcessEnv): ZmesProcess {
  return startProcess(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], { cwd: ROOT, env: cleanEnvironment(env) });
}

describe('zmes --config zmeventnotification.ini (the classic v6 file, not migrated)', () => {
  let db: ZmTestDatabase;
  let sim: ZmSimulator;
  let dir: string;
  let zmes: ZmesProcess;
  let client: TestClient | undefined;
  let monitor: number;
  let port: number;
  let ca: Buffer;

  before(async () => {
    db = await createZmTestDatabase({ appUser: true });
    sim = await ZmSimulator.create(db.pool);
    // The fixture's rules name monitors 1 and 2 and it skips 7 and 8: use one it leaves alone.
    let cameras = 0;
    do monitor = await sim.createMonitor({ name: `Camera ${++cameras}` });
    while ([1, 2, 7, 8].includes(monitor));
    await insertZmUser(db.execute, { username: 'owner', passwordHash: await zmPasswordHash('pw', 'mysql41') });

    dir = mkdtempSync(join(tmpdir(), 'zmes-classic-'));
    // As installed: the ini names its secrets.ini; the hooks live under base_data_path/bin.
    const secrets = join(dir, 'secrets.ini');
    writeFileSync(secrets, readFileSync(join(FIXTURES, 'secrets.ini')));
    const ini = join(dir, 'zmeventnotification.ini');
    writeFileSync(ini, readFileSync(join(FIXTURES, 'zmeventnotification.ini'), 'utf8').replace('/etc/zm/secrets.ini', secrets));
    const data = join(dir, 'data');
    mkdirSync(join(data, 'bin'), { recursive: true });
    const hook = (name: string, body: string) => {
      writeFileSync(join(data, 'bin', name), `#!/bin/sh\n${body}\n`);
      chmodSync(join(data, 'bin', name), 0o755);
    };
    hook('zm_event_start.sh', `echo '[a] detected:person:97%--SPLIT--${DETECTION}'`);
    hook('zm_event_end.sh', 'echo "$4"');
    const certificate = generateCertificate({ dir });
    ca = certificate.cert;

    const database = db.appSettings!;
    zmes = startZmes(
      [
        '--config', ini,
        // Classic v1.0 flags: this machine's address, a free port, a test certificate.
        '--address', '127.0.0.1', '--port', '0', '--ssl-cert-file', certificate.certPath, '--ssl-key-file', certificate.keyPath,
        // Generic ones: a writable data directory (the hooks follow its template), no shared broker.
        '--set', `general.base_data_path=${data}`, '--mqtt.enable=no', '--set', `customize.es_rules=${join(FIXTURES, 'es_rules.json')}`,
      ],
      {
        // The classic file has no database section (the classic server used ZoneMinder's zm.conf).
        ZMES_DATABASE_HOST: database.host,
        ZMES_DATABASE_PORT: String(database.port),
        ZMES_DATABASE_NAME: database.database,
        ZMES_DATABASE_USER: database.user,
        ZMES_DATABASE_PASSWORD: database.password,
        ZMES_DATABASE_ZM_CONF: '',
      },
    );
    port = Number((await zmes.waitFor(/listening for wss:\/\/ connections on 127\.0\.0\.1:(\d+)/))[1]);
    await zmes.waitFor(/zmes \S+ ready/);
  });

  after(async () => {
    await client?.close();
    await zmes?.stop();
    await sim?.idle();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('says which file it read and how, and reports each key left out once', () => {
    const log = zmes.output();
    assert.match(log, /configuration read from .*zmeventnotification\.ini \(classic v6 INI, read as zmes migrate-config reads it; named by --config\)/);
    for (const id of ['network.port', 'customize.event_check_interval', 'customize.include_picture_crop', 'hook.max_parallel_hooks', 'fcm.use_fcmv1']) {
      assert.equal(log.split(`${id} (${dir}/zmeventnotification.ini, line `).length - 1, 1, `${id} reported once:\n${log}`);
    }
  });

  it('serves a WSS client: login against ZoneMinder, alarms with the hook result, the end of the event', async () => {
    client = await connectClient(`wss://127.0.0.1:${port}`, { ca });
    client.send({ event: 'auth', data: { user: 'owner', password: 'pw', appversion: '1.8.001' }, token: '' });
    assert.equal((await client.next((f) => f['event'] === 'auth'))['status'], 'Success');

    const eventId = await sim.startEvent(monitor, { cause: 'Motion', zones: ['Porch'] });
    type Alarm = { MonitorId: number; EventId: number; Cause: string; DetectionJson: unknown };
    const alarmOf = (f: Record<string, unknown>) => (f['events'] as Alarm[])[0]!;
    const isAlarm = (prefix: string) => (f: Record<string, unknown>) => f['event'] === 'alarm' && alarmOf(f).EventId === Number(eventId) && alarmOf(f).Cause.startsWith(prefix);
    const start = alarmOf(await client.next(isAlarm('[a]'), 15_000));
    // read_alarm_cause (zone names), use_hooks and use_hook_description come from the ini.
    assert.equal(start.Cause, '[a] detected:person:97% Motion: Porch');
    assert.equal(start.MonitorId, monitor);
    assert.deepEqual(start.DetectionJson, JSON.parse(DETECTION));

    await sim.endEvent(eventId);
    // send_event_end_notification and event_end_notify_on_hook_success = fcm,web,api.
    const end = alarmOf(await client.next(isAlarm('End:'), 15_000));
    assert.match(end.Cause, /^End:.*detected:person/);
  });

  it('stops cleanly on SIGTERM without ever writing a secret of secrets.ini', async () => {
    await client?.close();
    client = undefined;
    const { code, signal } = await zmes.stop();
    assert.equal(signal, null, zmes.output());
    assert.equal(code, 0, zmes.output());
    for (const secret of SECRET_VALUES) assert.ok(!zmes.output().includes(secret), `${secret} reached the log`);
  });
});

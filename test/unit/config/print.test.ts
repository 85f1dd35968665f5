import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { maskUrlCredentials, urlCredentials } from '../../../src/config/credentials.js';
import { loadConfig } from '../../../src/config/load.js';
import { renderConfig } from '../../../src/config/print.js';
import { OPTIONS } from '../../../src/config/schema.js';

function render(overrides: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): string {
  const loaded = loadConfig({ env, overrides });
  return renderConfig({ ...loaded, file: '/etc/zm/zmeventnotification.yml', title: 'zmes test' });
}

/** The printed line of one option: the line after its section header that starts with its name. */
function lineOf(text: string, key: string): string {
  const [section = '', name = ''] = key.split('.');
  const body = text.split(`[${section}]\n`)[1]?.split('\n\n')[0] ?? '';
  const line = body.split('\n').find((l) => l.trimStart().startsWith(`${name} `));
  assert.ok(line, `no line for ${key}`);
  return line;
}

describe('--check-config output', () => {
  it('prints every option once, grouped by section', () => {
    const text = render({});
    for (const option of OPTIONS) assert.ok(lineOf(text, option.key));
    assert.equal(text.split('\n').filter((l) => l.startsWith('  ')).length, OPTIONS.length);
    assert.match(text, /^# zmes test: effective configuration\n# file: \/etc\/zm\/zmeventnotification\.yml\n/);
  });

  it('shows value, source and classic key', () => {
    const text = render({ 'fcm.enable': 'no' }, { ZMES_MQTT_TOPIC: 'home/zm' });
    assert.match(lineOf(text, 'fcm.enable'), /enable \.+ no +\(override\) +classic fcm\.enable$/);
    assert.match(lineOf(text, 'mqtt.topic'), /topic \.+ home\/zm +\(env\) +classic mqtt\.topic$/);
    assert.match(lineOf(text, 'network.port'), /port \.+ 9000 +\(default\) +classic network\.port$/);
    assert.match(lineOf(text, 'customize.max_event_age'), /\(default\) +zmes only$/);
  });

  it('marks ignored classic keys', () => {
    assert.match(lineOf(render({}), 'fcm.use_fcmv1'), /classic fcm\.use_fcmv1, ignored: no effect in zmes$/);
  });

  it('shows only (defined) or (undefined) for secrets', () => {
    const text = render({ 'mqtt.password': 'hunter2-secret', 'fcm.fcm_v1_key': 'key-material-xyz' });
    assert.ok(!text.includes('hunter2-secret'));
    assert.ok(!text.includes('key-material-xyz'));
    assert.ok(!text.includes('zmpass'));
    assert.match(lineOf(text, 'mqtt.password'), /password \.+ \(defined\) /);
    assert.match(lineOf(text, 'general.escontrol_interface_password'), /\(undefined\) /);
    assert.match(lineOf(text, 'mqtt.username'), /\(unset\) /);
  });

  it('masks credentials inside URLs', () => {
    const text = render({ 'customize.picture_url': 'https://zm.example/zm/index.php?view=image&eid=EVENTID&username=u&password=p4ss' });
    assert.ok(!text.includes('p4ss'));
    assert.match(lineOf(text, 'customize.picture_url'), /&username=u&password=\*\*\*/);
  });
});

describe('URL credentials', () => {
  it('are masked in user:pass@ and in password, pass, token and auth parameters', () => {
    assert.equal(maskUrlCredentials('https://admin:s3cret@zm.example/zm'), 'https://admin:***@zm.example/zm');
    assert.equal(maskUrlCredentials('http://h/x?pass=a&password=b&token=c&auth=d&user=e'), 'http://h/x?pass=***&password=***&token=***&auth=***&user=e');
    assert.equal(maskUrlCredentials('/var/lib/zmeventnotification'), '/var/lib/zmeventnotification');
  });

  it('are extracted raw and decoded for the logger', () => {
    assert.deepEqual(urlCredentials('https://u:p%40ss@h/?token=t0k').sort(), ['p%40ss', 'p@ss', 't0k'].sort());
    assert.deepEqual(urlCredentials('https://h/?username=u'), []);
  });
});

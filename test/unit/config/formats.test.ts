import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  FORMATS,
  bindHost,
  describeValue,
  parseChannelList,
  parseHostPort,
  parseMonitorList,
} from '../../../src/config/formats.js';

describe('the yes-no format', () => {
  const { coerce, check } = FORMATS['yes-no'];

  it('reads every classic spelling in any case, and real booleans and 0/1', () => {
    for (const word of ['yes', 'YES', 'true', 'On', '1', ' yes ', true, 1]) assert.equal(coerce(word), true, String(word));
    for (const word of ['no', 'NO', 'false', 'Off', '0', false, 0]) assert.equal(coerce(word), false, String(word));
  });

  it('leaves anything else for check() to reject', () => {
    for (const word of ['maybe', 'y', 'n', '2', 2]) assert.equal(check(coerce(word)), false, String(word));
  });
});

describe('number formats', () => {
  it('read plain decimals only', () => {
    const { coerce, check } = FORMATS['tcp-port'];
    assert.equal(coerce(' 9000 '), 9000);
    assert.equal(check(coerce('9000abc')), false);
    assert.equal(check(coerce('0x10')), false);
    assert.equal(check(coerce('1e3')), false);
  });

  it('allow fractions only where documented', () => {
    assert.equal(FORMATS['positive-number'].coerce('.5'), 0.5);
    assert.equal(FORMATS['positive-number'].check(0.5), true);
    assert.equal(FORMATS['positive-int'].check(0.5), false);
    assert.equal(FORMATS['positive-number'].check(0), false);
    assert.equal(FORMATS['non-negative-number'].check(0), true);
  });
});

describe('text formats', () => {
  it('trim, and read an empty string as unset', () => {
    assert.equal(FORMATS.text.coerce('  a b  '), 'a b');
    assert.equal(FORMATS.text.coerce('   '), null);
    assert.equal(FORMATS.path.coerce(''), null);
  });

  it('reject a path spanning lines', () => {
    assert.equal(FORMATS.path.check('/a\n/b'), false);
    assert.equal(FORMATS.path.check('/etc/zm/zm.conf'), true);
  });

  it('accept only http(s) URLs', () => {
    assert.equal(FORMATS['http-url'].check('https://zm.example/zm/?view=image&eid=EVENTID'), true);
    assert.equal(FORMATS['http-url'].check('mqtt://broker'), false);
    assert.equal(FORMATS['http-url'].check('not a url'), false);
  });
});

describe('monitor lists', () => {
  it('tolerate whitespace and parse into ids', () => {
    assert.equal(FORMATS['monitor-list'].coerce(' 1 , 2,3 '), '1,2,3');
    assert.deepEqual(parseMonitorList('1, 2,3'), [1, 2, 3]);
    assert.deepEqual(parseMonitorList(''), []);
  });

  it('reject anything but non-negative integers', () => {
    const { coerce, check } = FORMATS['monitor-list'];
    for (const bad of ['1,,2', '-1', '1.5', 'a', '1;2']) assert.equal(check(coerce(bad)), false, bad);
    assert.throws(() => parseMonitorList('1,x'), RangeError);
  });
});

describe('channel lists', () => {
  it('accept all, none, empty and comma lists of known channels', () => {
    const { coerce, check } = FORMATS['channel-list'];
    for (const ok of ['', 'all', 'none', 'web', 'FCM, web ,api', 'mqtt']) assert.ok(check(coerce(ok)), ok);
    for (const bad of ['sms', 'web,sms', 'all,web', 'web,']) assert.equal(check(coerce(bad)), false, bad);
  });

  it('parse into a set of channels', () => {
    assert.deepEqual([...parseChannelList('all')], ['web', 'fcm', 'mqtt', 'api']);
    assert.deepEqual([...parseChannelList('none')], []);
    assert.deepEqual([...parseChannelList('')], []);
    assert.deepEqual([...parseChannelList('fcm, web')], ['fcm', 'web']);
  });
});

describe('hosts', () => {
  it('strip the brackets of an IPv6 bind address', () => {
    assert.equal(bindHost('[::]'), '::');
    assert.equal(bindHost('0.0.0.0'), '0.0.0.0');
  });

  it('split host:port forms', () => {
    assert.deepEqual(parseHostPort('broker'), { host: 'broker', port: undefined });
    assert.deepEqual(parseHostPort('broker.lan:1884'), { host: 'broker.lan', port: 1884 });
    assert.deepEqual(parseHostPort('[fd00::1]:8883'), { host: 'fd00::1', port: 8883 });
    assert.deepEqual(parseHostPort('fd00::1'), { host: 'fd00::1', port: undefined });
    assert.equal(parseHostPort('broker:99999'), null);
    assert.equal(parseHostPort('mqtt://broker'), null);
  });
});

describe('values in messages', () => {
  it('are shown, except secrets', () => {
    assert.equal(describeValue('maybe', false), '"maybe"');
    assert.equal(describeValue(70000, false), '70000');
    assert.equal(describeValue('hunter2', true), 'the given value (hidden)');
    assert.equal(describeValue(null, true), 'an empty value');
  });
});

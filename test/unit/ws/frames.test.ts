import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as frames from '../../../src/ws/frames.js';
import { buildAlarmFrames, jsonUnsignedInteger, rejectionFrame } from '../../../src/ws/frames.js';
import { PROTOCOL_VERSION, ZMES_VERSION } from '../../../src/version.js';

/** Asserts the exact text, and that it is JSON whose keys come in the given order. */
function exact(actual: string, expected: string): void {
  assert.equal(actual, expected);
  assert.deepEqual(Object.keys(JSON.parse(actual) as object), Object.keys(JSON.parse(expected) as object));
}

describe('fixed replies', () => {
  test('auth success carries the protocol version as a string and our name in an extra key', () => {
    exact(
      frames.AUTH_SUCCESS,
      `{"event":"auth","type":"","status":"Success","reason":"","version":"${PROTOCOL_VERSION}","server":"zmes ${ZMES_VERSION}"}`,
    );
    const reply = JSON.parse(frames.AUTH_SUCCESS) as { version: unknown };
    assert.equal(typeof reply.version, 'string');
    // zmNinja compares dotted numeric parts against "6.0".
    assert.match(String(reply.version), /^\d+(\.\d+)*$/);
    assert.ok(Number(String(reply.version).split('.')[0]) >= 6);
  });

  test('auth failures are the exact classic frames', () => {
    exact(frames.AUTH_BADAUTH, '{"event":"auth","type":"","status":"Fail","reason":"BADAUTH"}');
    exact(frames.AUTH_NOAUTH, '{"event":"auth","type":"","status":"Fail","reason":"NOAUTH"}');
    exact(frames.AUTH_ESCONTROLDISABLED, '{"event":"auth","type":"","status":"Fail","reason":"ESCONTROLDISABLED"}');
  });

  test('BADJSON uses the malformed event name', () => {
    exact(frames.MALFORMED_BADJSON, '{"event":"malformed","type":"","status":"Fail","reason":"BADJSON"}');
  });

  test('NOTSUPPORTED echoes the event, sanitised and bounded', () => {
    exact(frames.notSupportedFrame('logout'), '{"event":"logout","type":"","status":"Fail","reason":"NOTSUPPORTED"}');
    exact(frames.notSupportedFrame('a"b\u0000' + 'z'.repeat(100)), `{"event":"a\\"b?${'z'.repeat(28)}","type":"","status":"Fail","reason":"NOTSUPPORTED"}`);
  });

  test('push replies are the exact classic frames', () => {
    exact(frames.PUSH_PUSHDISABLED, '{"event":"push","type":"","status":"Fail","reason":"PUSHDISABLED"}');
    exact(frames.PUSH_NOAUTH, '{"event":"push","type":"","status":"Fail","reason":"NOAUTH"}');
    exact(frames.PUSH_MISSINGPLATFORM, '{"event":"push","type":"token","status":"Fail","reason":"MISSINGPLATFORM"}');
  });

  test('our token refusals have the shape of MISSINGPLATFORM with their own reasons', () => {
    exact(frames.PUSH_BADPLATFORM, '{"event":"push","type":"token","status":"Fail","reason":"BADPLATFORM"}');
    exact(frames.PUSH_BADSTATE, '{"event":"push","type":"token","status":"Fail","reason":"BADSTATE"}');
    exact(frames.PUSH_TOKENQUOTA, '{"event":"push","type":"token","status":"Fail","reason":"TOKENQUOTA"}');
    exact(frames.PUSH_TOKENRATE, '{"event":"push","type":"token","status":"Fail","reason":"TOKENRATE"}');
    exact(frames.PUSH_TOKENSTOREFULL, '{"event":"push","type":"token","status":"Fail","reason":"TOKENSTOREFULL"}');
  });

  test('control replies are the exact classic frames', () => {
    exact(frames.FILTER_MISSINGMONITORLIST, '{"event":"control","type":"filter","status":"Fail","reason":"MISSINGMONITORLIST"}');
    exact(frames.FILTER_MISSINGINTERVALLIST, '{"event":"control","type":"filter","status":"Fail","reason":"MISSINGINTERVALLIST"}');
    exact(frames.FILTER_NOAUTH, '{"event":"control","type":"filter","status":"Fail","reason":"NOAUTH"}');
  });

  test('the version reply has type "version" (zmNinjaNg matches on it) and a string version', () => {
    exact(
      frames.VERSION_REPLY,
      `{"event":"control","type":"version","status":"Success","reason":"","version":"${PROTOCOL_VERSION}","server":"zmes ${ZMES_VERSION}"}`,
    );
  });

  test('escontrol refusals are the exact classic frames', () => {
    exact(frames.ESCONTROL_DISABLED, '{"event":"escontrol","type":"","status":"Fail","reason":"ESCONTROLDISABLED"}');
    exact(frames.ESCONTROL_NOTCONTROL, '{"event":"escontrol","type":"command","status":"Fail","reason":"NOTCONTROL"}');
    exact(frames.ESCONTROL_NODATA, '{"event":"escontrol","type":"command","status":"Fail","reason":"NODATA"}');
  });

  test('escontrol answers echo the request, and get double-encodes its response', () => {
    const request = { command: 'get' };
    exact(
      frames.escontrolGetFrame(request, { notifications: { '1': 0, '2': -1 } }),
      '{"event":"escontrol","type":"","status":"Success","request":{"command":"get"},"response":"{\\"notifications\\":{\\"1\\":0,\\"2\\":-1}}"}',
    );
    const response = (JSON.parse(frames.escontrolGetFrame(request, { notifications: { '1': 0 } })) as { response: unknown }).response;
    assert.equal(typeof response, 'string');
    exact(
      frames.escontrolSuccessFrame({ command: 'mute', monitors: [2, 4] }, ''),
      '{"event":"escontrol","type":"","status":"Success","request":{"command":"mute","monitors":[2,4]}}',
    );
    exact(
      frames.escontrolSuccessFrame({ command: 'restart' }, 'command'),
      '{"event":"escontrol","type":"command","status":"Success","request":{"command":"restart"}}',
    );
    exact(
      frames.escontrolNotSupportedFrame({ command: 'dance' }),
      '{"event":"escontrol","type":"command","status":"Fail","reason":"NOTSUPPORTED","request":{"command":"dance"}}',
    );
  });

  test('every reply carries event, type and status, and failures a reason', () => {
    const fixed = Object.entries(frames).filter((entry): entry is [string, string] => typeof entry[1] === 'string' && entry[1].startsWith('{'));
    assert.ok(fixed.length >= 15, `only ${fixed.length} fixed frames`);
    for (const [name, text] of fixed) {
      const reply = JSON.parse(text) as Record<string, unknown>;
      assert.deepEqual(Object.keys(reply).slice(0, 3), ['event', 'type', 'status'], name);
      if (reply['status'] === 'Fail') assert.equal(typeof reply['reason'], 'string', name);
      else assert.equal(reply['reason'], '', name);
    }
  });

  test('parser rejections map to their replies, and the silent ones to none', () => {
    assert.equal(rejectionFrame('MISSINGPLATFORM'), frames.PUSH_MISSINGPLATFORM);
    assert.equal(rejectionFrame('BADPLATFORM'), frames.PUSH_BADPLATFORM);
    assert.equal(rejectionFrame('BADSTATE'), frames.PUSH_BADSTATE);
    assert.equal(rejectionFrame('MISSINGMONITORLIST'), frames.FILTER_MISSINGMONITORLIST);
    assert.equal(rejectionFrame('MISSINGINTERVALLIST'), frames.FILTER_MISSINGINTERVALLIST);
    assert.equal(rejectionFrame('NODATA'), frames.ESCONTROL_NODATA);
    assert.equal(rejectionFrame('EMPTYTOKEN'), undefined);
    assert.equal(rejectionFrame('BADBADGE'), undefined);
  });
});

describe('alarm frames', () => {
  const base = {
    monitorName: 'Front Door',
    monitorId: 1,
    eventId: 4242n,
    cause: 'Motion: zone1',
    phase: 'start',
    picture: 'https://zm.example/zm/index.php?view=image&eid=4242&fid=snapshot&width=600',
  } as const;

  test('the alarm frame is exactly the protocol example, with integer ids', () => {
    const { normal } = buildAlarmFrames(base);
    exact(
      normal,
      '{"event":"alarm","type":"","status":"Success","events":[{"Name":"Front Door","MonitorName":"Front Door","MonitorId":1,"EventId":4242,"Cause":"Motion: zone1","DetectionJson":[],"RulesObject":{},"Picture":"https://zm.example/zm/index.php?view=image&eid=4242&fid=snapshot&width=600"}]}',
    );
    const element = (JSON.parse(normal) as { events: Array<Record<string, unknown>> }).events[0] ?? {};
    assert.deepEqual(Object.keys(element), ['Name', 'MonitorName', 'MonitorId', 'EventId', 'Cause', 'DetectionJson', 'RulesObject', 'Picture']);
    assert.equal(typeof element['MonitorId'], 'number');
    assert.equal(typeof element['EventId'], 'number');
  });

  test('the supplementary copy adds "supplementary":"true" as a string and is otherwise the same', () => {
    const { normal, supplementary } = buildAlarmFrames(base);
    const parsed = JSON.parse(supplementary) as Record<string, unknown>;
    assert.equal(parsed['supplementary'], 'true');
    assert.deepEqual(Object.keys(parsed), ['event', 'type', 'status', 'supplementary', 'events']);
    const { supplementary: _flag, ...rest } = parsed;
    assert.deepEqual(rest, JSON.parse(normal));
    assert.equal((JSON.parse(normal) as Record<string, unknown>)['supplementary'], undefined);
  });

  test('without a picture the Picture key is absent, and hook results are carried as JSON', () => {
    const { normal } = buildAlarmFrames({
      monitorName: 'Yard "east"',
      monitorId: 7,
      eventId: 9n,
      cause: 'person:97%',
      phase: 'start',
      detectionJson: { labels: ['person'], boxes: [[1, 2, 3, 4]], confidences: [0.97] },
      rulesObject: { notification_type: 'critical' },
    });
    exact(
      normal,
      '{"event":"alarm","type":"","status":"Success","events":[{"Name":"Yard \\"east\\"","MonitorName":"Yard \\"east\\"","MonitorId":7,"EventId":9,"Cause":"person:97%","DetectionJson":{"labels":["person"],"boxes":[[1,2,3,4]],"confidences":[0.97]},"RulesObject":{"notification_type":"critical"}}]}',
    );
  });

  test('an end notification prefixes the cause with End: exactly once', () => {
    const { normal } = buildAlarmFrames({ ...base, phase: 'end' });
    const element = (JSON.parse(normal) as { events: Array<{ Cause: string }> }).events[0];
    assert.equal(element?.Cause, 'End:Motion: zone1');
  });

  test('event ids above 2^53 are written exactly', () => {
    for (const id of [2n ** 53n + 1n, 9007199254740993n, 12345678901234567890n, 2n ** 64n - 1n]) {
      const { normal, supplementary } = buildAlarmFrames({ ...base, eventId: id });
      assert.ok(normal.includes(`"EventId":${id.toString()},`), normal);
      assert.ok(supplementary.includes(`"EventId":${id.toString()},`));
      // Round trip with a bigint-aware reader: the digits survive exactly.
      const match = /"EventId":(\d+)/.exec(normal);
      assert.equal(BigInt(match?.[1] ?? '0'), id);
    }
  });

  test('ids that cannot be ZoneMinder ids are refused instead of written wrongly', () => {
    assert.throws(() => buildAlarmFrames({ ...base, eventId: -1n }), RangeError);
    assert.throws(() => buildAlarmFrames({ ...base, eventId: 2n ** 64n }), RangeError);
    assert.throws(() => buildAlarmFrames({ ...base, monitorId: 1.5 }), RangeError);
    assert.throws(() => buildAlarmFrames({ ...base, monitorId: -3 }), RangeError);
    assert.throws(() => buildAlarmFrames({ ...base, monitorId: Number.NaN }), RangeError);
  });

  test('jsonUnsignedInteger writes numbers and bigints as plain decimal literals', () => {
    assert.equal(jsonUnsignedInteger(0), '0');
    assert.equal(jsonUnsignedInteger(Number.MAX_SAFE_INTEGER), '9007199254740991');
    assert.equal(jsonUnsignedInteger(10n ** 19n), '10000000000000000000');
    assert.throws(() => jsonUnsignedInteger(2 ** 53), RangeError);
  });

  test('frames are immutable strings built once, so each connection gets the same bytes', () => {
    const built = buildAlarmFrames(base);
    assert.ok(Object.isFrozen(built));
    assert.throws(() => {
      (built as { normal: string }).normal = 'changed';
    }, TypeError);
    const again = buildAlarmFrames(base);
    assert.equal(again.normal, built.normal);
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classicPayload } from '../../../src/mqtt/classic-payload.js';
import { notification, zmEvent } from '../../helpers/mqtt-fixtures.js';

const detection = { labels: ['dog'], boxes: [[1, 2, 3, 4]], frame_id: 'alarm', confidences: [0.9], image_dimensions: {} };

test('the start message is the classic payload, field for field and type for type', () => {
  const payload = classicPayload(notification({ cause: '[a] detected:dog Motion All', detectionJson: detection }));
  assert.equal(
    payload,
    '{"monitor":"3","name":"Backyard:(999) [a] detected:dog Motion All","state":"alarm","eventid":"999","hookvalue":0,' +
      '"eventtype":"event_start","detection":{"labels":["dog"],"boxes":[[1,2,3,4]],"frame_id":"alarm","confidences":[0.9],"image_dimensions":{}}}',
  );
});

test('the end message prefixes the name with Ended:, keeps state alarm, and carries the hook exit code', () => {
  const payload = classicPayload(notification({ phase: 'end', cause: 'Motion: All', hookValue: 1 }));
  assert.equal(
    payload,
    '{"monitor":"3","name":"Ended:Backyard:(999) Motion: All","state":"alarm","eventid":"999","hookvalue":1,"eventtype":"event_end","detection":[]}',
  );
});

test('event ids beyond 2^53 are written exactly', () => {
  const event = zmEvent({ eventId: 9_007_199_254_740_993n, monitorId: 12, monitorName: 'Gate' });
  const parsed = JSON.parse(classicPayload(notification({ event, cause: 'Motion' }))) as Record<string, unknown>;
  assert.equal(parsed['eventid'], '9007199254740993');
  assert.equal(parsed['name'], 'Gate:(9007199254740993) Motion');
  assert.equal(parsed['monitor'], '12');
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { causeText, tidyCause } from '../../../src/notify/cause-text.js';

/**
 * The exact texts ZoneMinder 1.36.33 and 1.38 write (zoneminder.md §2.1, observed rows) and what
 * zmes announces for them; docs/protocol.md lists the same table.
 */
const cases: Array<{ what: string; cause: string; notes: string; start: string; startWithZones: string; end: string }> = [
  { what: 'forced alarm (1.36)', cause: 'Forced Web', notes: 'Forced Web: ', start: 'Forced Web', startWithZones: 'Forced Web', end: 'Forced Web' },
  { what: 'motion (1.36)', cause: 'Motion', notes: 'Motion: zone1', start: 'Motion', startWithZones: 'Motion: zone1', end: 'Motion: zone1' },
  { what: 'motion in two zones', cause: 'Motion', notes: 'Motion: Left Half, zone1', start: 'Motion', startWithZones: 'Motion: Left Half, zone1', end: 'Motion: Left Half, zone1' },
  {
    what: 'forced during motion (groups without separator)',
    cause: 'Forced Web',
    notes: 'Forced Web: Motion: Left Half, zone1',
    start: 'Forced Web',
    startWithZones: 'Forced Web, Motion: Left Half, zone1',
    end: 'Forced Web, Motion: Left Half, zone1',
  },
  { what: 'motion (1.38 Cause with zones)', cause: 'Motion:zone1,Left Half', notes: 'Motion: Left Half, zone1', start: 'Motion: zone1, Left Half', startWithZones: 'Motion: Left Half, zone1', end: 'Motion: Left Half, zone1' },
  { what: 'linked monitor', cause: 'Linked', notes: 'Linked: Front Door', start: 'Linked', startWithZones: 'Linked: Front Door', end: 'Linked: Front Door' },
  { what: 'signal loss', cause: 'Signal', notes: 'Signal: ', start: 'Signal', startWithZones: 'Signal', end: 'Signal' },
  { what: 'continuous recording', cause: 'Continuous', notes: '', start: 'Continuous', startWithZones: 'Continuous', end: 'Continuous' },
  { what: 'ONVIF event (1.38)', cause: 'ONVIF', notes: 'ONVIF: ', start: 'ONVIF', startWithZones: 'ONVIF', end: 'ONVIF' },
  { what: 'zmtrigger external trigger', cause: 'Door', notes: 'Door: front door opened', start: 'Door', startWithZones: 'Door: front door opened', end: 'Door: front door opened' },
];

describe('alarm texts for every cause ZoneMinder writes', () => {
  for (const c of cases) {
    test(c.what, () => {
      const event = { cause: c.cause, notes: c.notes };
      assert.equal(causeText(event, 'start', false), c.start);
      assert.equal(causeText(event, 'start', true), c.startWithZones);
      assert.equal(causeText(event, 'end', false), c.end);
    });
  }
});

test('no dangling colon, empty part or stray whitespace', () => {
  assert.equal(tidyCause('  Motion:   zone1 ,  , zone2 :  '), 'Motion: zone1, zone2');
  assert.equal(tidyCause('Forced Web:\n'), 'Forced Web');
  assert.equal(tidyCause(''), '');
  assert.equal(tidyCause('   '), '');
  assert.equal(causeText({ cause: ' ', notes: ' ' }, 'start', true), 'Alarm');
});

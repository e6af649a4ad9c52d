// tsdav (the CalDAV library scheduling tools such as cal.com use) drives
// calproxy: login, fetchCalendars, fetchCalendarObjects in a time range,
// createCalendarObject into primary, and a refused update of a blocked slot.
// Usage: node tsdav_client.mjs <base-url> <user> <password>
// Prints a JSON summary line and ALL OK on success; any failure throws.
// tsdav is loaded from target/node (installed by .ci/setup-peers), or from
// $TSDAV_NODE_DIR when set.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const nodeDir = process.env.TSDAV_NODE_DIR ?? path.join(here, '../../target/node');
const entry = path.join(nodeDir, 'node_modules/tsdav/dist/tsdav.mjs');
const { DAVClient } = await import(pathToFileURL(entry).href);

const [base, username, password] = process.argv.slice(2);
assert.ok(base && username && password, 'usage: tsdav_client.mjs <base-url> <user> <password>');
const serverUrl = `${base.replace(/\/+$/, '')}/dav/`;

const client = new DAVClient({
  serverUrl,
  credentials: { username, password },
  authMethod: 'Basic',
  defaultAccountType: 'caldav',
});
await client.login();
console.log('account:', JSON.stringify({
  rootUrl: client.account?.rootUrl,
  principalUrl: client.account?.principalUrl,
  homeUrl: client.account?.homeUrl,
}));

// fetchCalendars: primary, work, blocked and availability are listed.
const calendars = await client.fetchCalendars();
const byName = Object.fromEntries(
  calendars.map((c) => [new URL(c.url).pathname.replace(/\/+$/, '').split('/').pop(), c]),
);
console.log('calendars:', Object.keys(byName).sort().join(' '));
for (const name of ['primary', 'work', 'blocked', 'availability']) {
  assert.ok(byName[name], `${name} not listed: ${Object.keys(byName)}`);
}
const primary = byName.primary;

// fetchCalendarObjects in a later week: the weekly stand-up's master is there.
const timeRange = { start: '2027-03-01T00:00:00Z', end: '2027-03-08T00:00:00Z' };
const inRange = await client.fetchCalendarObjects({ calendar: primary, timeRange });
const rangeNames = inRange.map((o) => o.url.split('/').pop()).sort();
console.log('in range:', rangeNames.join(' '));
const standup = inRange.find((o) => (o.data ?? '').includes('UID:demo-team-standup@calproxy'));
assert.ok(standup, `weekly stand-up master not returned for ${JSON.stringify(timeRange)}: ${rangeNames}`);
assert.match(standup.data, /RRULE:FREQ=WEEKLY/, 'stand-up returned without its RRULE (not the master)');
assert.ok(standup.etag, 'stand-up has no etag');
// …and the dentist appointment (one-off) is not in that week.
assert.ok(!rangeNames.includes('dentist.ics'), `dentist.ics should be outside ${JSON.stringify(timeRange)}`);

// With expand (as cal.com fetches busy times): the stand-up comes back as
// its Mon/Wed/Fri instances of that week, each with a RECURRENCE-ID, no RRULE.
const expanded = await client.fetchCalendarObjects({ calendar: primary, timeRange, expand: true });
const standupX = expanded.find((o) => (o.data ?? '').includes('UID:demo-team-standup@calproxy'));
assert.ok(standupX, `expand: stand-up not returned: ${expanded.map((o) => o.url)}`);
assert.doesNotMatch(standupX.data, /RRULE:/, `expand: RRULE still present:\n${standupX.data}`);
const instances = (standupX.data.match(/RECURRENCE-ID[^:]*:[0-9TZ]+/g) ?? []).map((l) => l.split(':').pop());
console.log('expanded instances:', instances.join(' '));
assert.deepEqual(instances.sort(), ['20270301T083000Z', '20270303T083000Z', '20270305T083000Z']);

// createCalendarObject into primary.
const uid = `tsdav-${randomUUID()}`;
const filename = `${randomUUID()}.ics`;
const iCalString = [
  'BEGIN:VCALENDAR',
  'VERSION:2.0',
  'PRODID:-//tsdav test//EN',
  'BEGIN:VEVENT',
  `UID:${uid}`,
  'DTSTAMP:20261101T000000Z',
  'DTSTART:20261208T130000Z',
  'DTEND:20261208T140000Z',
  'SUMMARY:Booked via tsdav',
  'END:VEVENT',
  'END:VCALENDAR',
  '',
].join('\r\n');
const created = await client.createCalendarObject({ calendar: primary, filename, iCalString });
console.log('create status:', created.status);
assert.ok(created.ok, `createCalendarObject failed: ${created.status} ${await created.text()}`);
const createdEtag = created.headers.get('etag');

// It is readable back through tsdav.
const [back] = await client.fetchCalendarObjects({
  calendar: primary,
  objectUrls: [new URL(filename, primary.url).href],
});
assert.ok(back?.data?.includes(uid), `created object not read back: ${JSON.stringify(back)}`);

// A blocked slot (an iCloud event in primary) refuses an update: 403.
const all = await client.fetchCalendarObjects({ calendar: primary });
const dentist = all.find((o) => o.url.endsWith('/dentist.ics'));
assert.ok(dentist, `dentist.ics not in primary: ${all.map((o) => o.url)}`);
assert.ok(dentist.etag, 'dentist.ics has no etag');
const refused = await client.updateCalendarObject({
  calendarObject: { ...dentist, data: dentist.data.replace(/SUMMARY:[^\r\n]*/, 'SUMMARY:Moved by tsdav') },
});
const refusedBody = await refused.text();
console.log('update blocked slot:', refused.status);
assert.equal(refused.status, 403, `update of dentist.ics was not refused: ${refused.status} ${refusedBody}`);
assert.match(refusedBody, /need-privileges/, `403 without DAV:need-privileges: ${refusedBody}`);

console.log(JSON.stringify({
  calendars: Object.keys(byName).sort(),
  inRange: rangeNames,
  expandedInstances: instances,
  created: { uid, filename, status: created.status, etag: createdEtag },
  refused: { url: dentist.url, status: refused.status },
}));
console.log('ALL OK');

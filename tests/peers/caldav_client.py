"""python caldav drives calproxy: discovery, CRUD in primary, time-range
search that must expand a weekly event, sync-token sync, and a refused
write to availability. Prints ALL OK on success; any failure raises."""

import sys
import uuid
from datetime import datetime, timedelta, timezone

import caldav
from caldav.lib import error

url, user, password = sys.argv[1], sys.argv[2], sys.argv[3]
client = caldav.DAVClient(url=url, username=user, password=password, timeout=30)

# Discovery from the root URL.
principal = client.principal()
calendars = {c.url.path.rstrip("/").rsplit("/", 1)[-1]: c for c in principal.calendars()}
print("calendars:", sorted(calendars))
for name in ("primary", "blocked", "availability", "work"):
    assert name in calendars, f"{name} not listed: {sorted(calendars)}"
primary = calendars["primary"]

# Sync token before changes.
initial = primary.objects_by_sync_token(load_objects=False)
token = initial.sync_token
n_before = len(list(initial))

# Create.
uid = f"pycaldav-{uuid.uuid4()}"
ics = f"""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//python caldav test//EN
BEGIN:VEVENT
UID:{uid}
DTSTAMP:20261101T000000Z
DTSTART;TZID=Europe/Berlin:20261207T140000
DTEND;TZID=Europe/Berlin:20261207T150000
RRULE:FREQ=WEEKLY
SUMMARY:Python weekly
END:VEVENT
END:VCALENDAR
"""
ev = primary.save_event(ics)
print("created", ev.url)

# Read back by UID.
got = primary.event_by_uid(uid)
got.load()
assert "Python weekly" in got.data, got.data

# Update.
got.data = got.data.replace("Python weekly", "Python weekly (moved)")
got.save()
again = primary.event_by_uid(uid)
again.load()
assert "(moved)" in again.data, again.data

# Time-range search: the weekly event must be found in a later week (March 2027).
start = datetime(2027, 3, 1, tzinfo=timezone.utc)
found = primary.search(start=start, end=start + timedelta(days=7), event=True, expand=False)
uids = [f.icalendar_component["UID"] for f in found]
print("found in March 2027:", uids)
assert uid in uids, uids
# …and not in a week before it starts.
early = datetime(2026, 11, 9, tzinfo=timezone.utc)
found = primary.search(start=early, end=early + timedelta(days=7), event=True, expand=False)
assert uid not in [f.icalendar_component["UID"] for f in found]

# Sync with the token: exactly our new object changed.
delta = primary.objects_by_sync_token(sync_token=token, load_objects=False)
changed = [str(o.url) for o in delta]
print("changed since token:", changed)
assert len(changed) == 1 and changed[0].endswith(".ics"), changed
token2 = delta.sync_token
assert token2 != token

# Delete, then the sync shows the deletion.
again.delete()
delta2 = primary.objects_by_sync_token(sync_token=token2, load_objects=False)
assert len(list(delta2)) == 1, list(delta2)
assert len(list(primary.objects_by_sync_token(load_objects=False))) == n_before

# Writing to availability is refused with 403.
try:
    calendars["availability"].save_event(ics.replace(uid, uid + "-x"))
except (error.AuthorizationError, error.PutError) as e:
    print("availability refused:", type(e).__name__)
    assert "403" in str(e) or isinstance(e, error.AuthorizationError), e
else:
    raise AssertionError("write to availability was accepted")

print("ALL OK")

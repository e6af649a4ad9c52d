"""python caldav against calproxy connected to the simulated iCloud (R1-R3):
create a system event in primary, fail to modify an iCloud blocked slot
(403), write a local blocked slot. Prints the created UIDs and ALL OK."""

import json
import sys
import uuid

import caldav
from caldav.lib import error

url, user, password = sys.argv[1], sys.argv[2], sys.argv[3]
client = caldav.DAVClient(url=url, username=user, password=password, timeout=30)
cals = {c.url.path.rstrip("/").rsplit("/", 1)[-1]: c for c in client.principal().calendars()}
primary, blocked = cals["primary"], cals["blocked"]

system_uid = f"py-system-{uuid.uuid4()}"
primary.save_event(f"""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//python caldav contract test//EN
BEGIN:VEVENT
UID:{system_uid}
DTSTAMP:20261101T000000Z
DTSTART:20261218T100000Z
DTEND:20261218T110000Z
SUMMARY:System event from python
END:VEVENT
END:VCALENDAR
""")

# An iCloud event in primary is a read-only blocked slot (R2).
dentist = primary.event_by_url(primary.url.join("dentist.ics"))
dentist.load()
dentist.data = dentist.data.replace("Dentist", "Mine now")
try:
    dentist.save()
except (error.AuthorizationError, error.PutError) as e:
    assert "403" in str(e) or isinstance(e, error.AuthorizationError), e
    print("blocked slot refused:", type(e).__name__)
else:
    raise AssertionError("modifying an iCloud event was accepted")

local_uid = f"py-blocked-{uuid.uuid4()}"
blocked.save_event(f"""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//python caldav contract test//EN
BEGIN:VEVENT
UID:{local_uid}
DTSTAMP:20261101T000000Z
DTSTART:20261218T140000Z
DTEND:20261218T150000Z
SUMMARY:Local blocked slot
END:VEVENT
END:VCALENDAR
""")
print(json.dumps({"system_uid": system_uid, "blocked_uid": local_uid}))
print("ALL OK")

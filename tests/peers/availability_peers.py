"""Real clients read calproxy's availability (R9): python caldav sends a
free-busy-query REPORT (Calendar.freebusy_request) to availability/ and to
primary/, and python icalendar parses the webcal feed.

usage: availability_peers.py BASE_URL USER PASSWORD FEED_URL START END
(START/END ISO 8601 UTC; the range must hold busy time). Prints ALL OK."""

import sys
import urllib.request
from datetime import datetime

import caldav
import icalendar

url, user, password, feed, start, end = sys.argv[1:7]
start = datetime.fromisoformat(start.replace("Z", "+00:00"))
end = datetime.fromisoformat(end.replace("Z", "+00:00"))
client = caldav.DAVClient(url=url, username=user, password=password, timeout=30)
cals = {c.url.path.rstrip("/").rsplit("/", 1)[-1]: c for c in client.principal().calendars()}

periods = {}
for name in ("availability", "primary"):
    fb = cals[name].freebusy_request(start, end)
    cal = icalendar.Calendar.from_ical(fb.data)
    vfb = [c for c in cal.walk("VFREEBUSY")]
    assert len(vfb) == 1, f"{name}: {len(vfb)} VFREEBUSY"
    lines = vfb[0].get("FREEBUSY", [])
    if not isinstance(lines, list):
        lines = [lines]
    # icalendar gives one vPeriod per period (comma lists are split).
    periods[name] = [((p.start, p.end), str(p.params.get("FBTYPE", "BUSY"))) for p in lines]
    assert periods[name], f"{name}: no busy periods in {fb.data}"
    print(name, "free-busy periods:", len(periods[name]))
# availability/ merges every source, so it holds at least primary's time.
assert len(periods["availability"]) >= 1
for (s, e), _ in periods["primary"]:
    assert any(a <= s and e <= b for (a, b), _ in periods["availability"]), (s, e)

with urllib.request.urlopen(feed, timeout=30) as r:
    ctype = r.headers.get("Content-Type", "")
    body = r.read()
assert ctype.startswith("text/calendar"), ctype
cal = icalendar.Calendar.from_ical(body)
events = list(cal.walk("VEVENT"))
assert events, "feed has no events"
for ev in events:
    assert str(ev["SUMMARY"]) == "Busy", ev["SUMMARY"]
    assert ev["DTSTART"].dt < ev["DTEND"].dt
uids = [str(ev["UID"]) for ev in events]
assert len(uids) == len(set(uids)), "duplicate UIDs in the feed"
print("feed events:", len(events))
print("ALL OK")

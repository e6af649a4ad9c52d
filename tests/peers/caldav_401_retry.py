"""python caldav's unauthenticated-first flow, many times: each run is a
fresh client (a fresh connection) whose first request, a PUT with a body,
goes out without credentials, gets 401 and is retried with Basic auth on
the same connection (issue 12 #10). Prints "runs=N failures=F"."""

import sys

import caldav

url, user, password, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
collection = url.rstrip("/") + "/dav/demo/demo/blocked/"
failures = 0
for i in range(runs):
    client = caldav.DAVClient(url=url, username=user, password=password, timeout=30)
    uid = f"retry-{i}"
    ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calproxy tests//EN\r\n"
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n"
        "DTSTART:20260301T100000Z\r\nDTEND:20260301T110000Z\r\nSUMMARY:retry\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    try:
        r = client.request(f"{collection}{uid}.ics", "PUT", ics, {"Content-Type": "text/calendar"})
        if r.status not in (201, 204):
            raise RuntimeError(f"status {r.status}")
    except Exception as e:  # noqa: BLE001 - every failure is counted and shown
        failures += 1
        print(f"run {i}: {type(e).__name__}: {e}", file=sys.stderr)
    finally:
        client.close()
print(f"runs={runs} failures={failures}")
sys.exit(1 if failures else 0)

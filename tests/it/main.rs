//! The one integration-test binary. Each module says what belongs in it.

mod support;

// well-known, principal, home, calendar list, OPTIONS, authentication
mod discovery;
// PUT/GET/DELETE of objects with ETags and preconditions
mod objects;
// calendar-query, calendar-multiget, sync-collection, free-busy-query
mod reports;
// R2/R9: read-only collections and blocked slots refuse writes
mod r2_readonly;
// every malformed request -> 4xx + DAV error body, store unchanged
mod bad_input;
// R10: a 2xx write survives a restart of the store
mod r10_durability;
// the CLI with and without a running server (admin socket)
mod cli_admin;
// upstream client + sync engine against Radicale and Xandikos
mod upstream_peers;
// the simulated iCloud: discovery, sync, quirks, throttling, request counts
mod icloud_sync;
// R1-R3 through the simulated iCloud
mod r1_primary_writes;
// R10: crash (SIGKILL) and outage with the simulated iCloud
mod r10_crash_outage;
// R5 privacy, R7 conflict users, R8 tenants sharing a connection
mod r5_r8_privacy_tenancy;
// secrets never reach logs, output, errors, Debug or the data files
mod secrets;
// traffic recorder, HAR, /debug for admins, traffic CLI, probe, /metrics
mod debug_traffic;
// HTTPS with a self-signed certificate
mod tls;
// real clients: python caldav, caldav-server-tester
mod peers_python;
// caldav-server-tester's verdicts against a table of expected outcomes
mod peers_server_tester;
// tsdav (cal.com's CalDAV library) against calproxy and the simulated iCloud
mod peers_tsdav;
// R4/R9 availability: oracle property test, availability/, free-busy, feed + token CLI, why-busy, cache, peers
mod r4_r9_availability;
// issue 10 and 12 #3: stored time answers, restarts, fair and bounded expansion
mod read_path;
// issue 10: a query after a change is patched from its previous answer
mod query_patch;
// issue 9: derived views have one owner (R7 conflict users, R8 shared connections, failures)
mod derived_views;
// issue 9: the write path under concurrency (sync vs outbox, fresh-store creates, two pushers)
mod write_races;
// ical against the python oracle: generated VTIMEZONEs, X-WR-TIMEZONE
mod ical_oracle;
// issue 12: CLI and process (pipes, log colour, warnings, file modes, passwords, VTODO wording)
mod issue12_cli;
// issue 12: transport (silent connections, descriptor limit, refusals with bodies, 401 then retry)
mod issue12_transport;
// issue 12: signing in (hash memory, stampedes, throttling, equal work for unknown users, /metrics)
mod issue12_auth;
// issue 11: the web console's security over HTTP (CSRF, sessions, cookies, tenants, throttle, secrets)
mod console_security;
// issue 11: the web console in a real headless Chromium (selenium), pages checked by html5lib
mod console_browser;
// issue 11: disconnect, the typed overview queries and sync progress behind the console and the CLI
mod console_admin;
// issue 13 #4: ICS feeds as read-only sources (polling, 304, limits, the sim's subscriptions)
mod ics_sources;
// issue 13 #5: safe sync (held deletions, full reconciliation, reconnect required)
mod safe_sync;
// issue 13 #7: the sync window (availability/ min/max-date-time, flags and the config file)
mod sync_window;
// issue 12 #11 #13 #14: Allow, GET of collections, COPY/MOVE, privileges, 409/403/401, DTSTAMP (raw HTTP)
mod conformance;
// issue 12 #11: RFC 6764 discovery by libdav (pimsync's CalDAV library)
mod peers_libdav;
// issue 13: the free-slots API and CLI (hand-checked cases, limits, auth, stale sources)
mod slots;
// issue 13: busy switches, buffers and working hours in availability/, free-busy, why-busy and the feed
mod busy_settings;
// issue 13: every busy switch (all-day, tentative, travel time, buffers) against the python oracle
mod r4_switches_oracle;
// issue 13: working hours and busy rules in the web console
mod console_settings;
// issue 12: the fuzz corpora (fixtures/fuzz/) replayed through the fuzz targets' entry points
mod fuzz_corpus;

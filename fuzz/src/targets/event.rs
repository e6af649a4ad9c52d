//! A recurring event drawn from choices (for the `recurrence` target):
//! DTSTART in a zone (IANA, Windows, prefixed, unknown, or a VTIMEZONE of
//! the input's own), up to a few RRULEs with random FREQ, INTERVAL, COUNT
//! or UNTIL and BY-parts (valid and not), EXDATE and RDATE lists (DATE,
//! DATE-TIME, PERIOD), DTEND or DURATION, overrides with RECURRENCE-ID,
//! plus the window and default zone to expand it in. Values stay close
//! to real data most of the time (EXDATEs and overrides land on the
//! series' own dates) and leave it now and then (year 1, year 9999,
//! month 13, INTERVAL 65536, COUNT 2^64-1).

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};

use super::choices::Choices;

/// One expansion case.
pub struct Case {
    /// The iCalendar object.
    pub ics: String,
    /// Window start (UTC).
    pub start: DateTime<Utc>,
    /// Window end (UTC), after `start`.
    pub end: DateTime<Utc>,
    /// Zone for floating times and dates.
    pub default_tz: chrono_tz::Tz,
    /// The object's components are VEVENTs (else VTODOs).
    pub events: bool,
}

const TZIDS: &[&str] = &[
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "Pacific/Apia",
    "Pacific/Kiritimati",
    "UTC",
    "W. Europe Standard Time",
    "/mozilla.org/20050126_1/America/Los_Angeles",
    "Etc/GMT+12",
    "Asia/Kathmandu",
    "America/Sao_Paulo",
    "Nowhere/Bogus",
];

const DEFAULT_TZ: &[chrono_tz::Tz] = &[
    chrono_tz::UTC,
    chrono_tz::Europe::Berlin,
    chrono_tz::America::Los_Angeles,
    chrono_tz::Pacific::Apia,
];

const YEARS: &[i32] = &[
    2025, 2024, 2026, 1970, 2000, 1999, 2037, 2038, 2100, 1900, 1600, 1, 9999, 2035, 1850,
];

/// How a date-time value is written.
#[derive(Clone, Copy, PartialEq)]
enum Form {
    /// `;TZID=…:20250105T100000`
    Zoned,
    /// `:20250105T100000Z`
    Utc,
    /// `:20250105T100000`
    Floating,
    /// `;VALUE=DATE:20250105`
    Date,
}

/// The builder's state while drawing.
struct Draw<'c, 'a> {
    c: &'c mut Choices<'a>,
    tzid: &'static str,
    base: NaiveDateTime,
    form: Form,
    lines: Vec<String>,
}

fn naive(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> Option<NaiveDateTime> {
    NaiveDate::from_ymd_opt(y, mo, d)?.and_hms_opt(h, mi, s)
}

impl Draw<'_, '_> {
    /// A fresh date-time, now and then with an invalid field.
    fn fresh(&mut self) -> Result<NaiveDateTime, String> {
        let y = self.c.pick(YEARS);
        let mo = self.c.range(1, 12) as u32;
        let d = self.c.range(1, 28) as u32;
        let (h, mi, s) = (
            self.c.range(0, 23) as u32,
            self.c.pick(&[0, 30, 15, 59, 1]),
            self.c.pick(&[0, 0, 30, 59]),
        );
        if self.c.one_in(16) {
            // Fields no calendar has: month 13, day 31 in a short month, 24:00, second 60.
            let raw = format!(
                "{y:04}{:02}{:02}T{:02}{mi:02}{:02}",
                self.c.pick(&[13, 0, 2, 4]),
                self.c.pick(&[31, 30, 29, 0, 32]),
                self.c.pick(&[24, 23, 0]),
                self.c.pick(&[60, 61, 0])
            );
            return Err(raw);
        }
        naive(y, mo, d, h, mi, s).ok_or_else(|| format!("{y:04}{mo:02}{d:02}T000000"))
    }

    /// A date-time near the series start (k periods away), or a fresh one.
    fn near(&mut self) -> Result<NaiveDateTime, String> {
        if self.c.one_in(5) {
            return self.fresh();
        }
        let unit = self.c.pick(&[
            Duration::days(1),
            Duration::weeks(1),
            Duration::hours(1),
            Duration::days(30),
            Duration::days(365),
            Duration::minutes(1),
            Duration::seconds(1),
        ]);
        let k = self.c.range(-3, 60) as i32;
        Ok(self.base.checked_add_signed(unit * k).unwrap_or(self.base))
    }

    /// `(params, value)` of a date-time in `form`.
    fn value(&self, t: &Result<NaiveDateTime, String>, form: Form) -> (String, String) {
        let text = |f: &str| match t {
            Ok(t) => t.format(f).to_string(),
            Err(raw) => raw.clone(),
        };
        match form {
            Form::Zoned => (format!(";TZID={}", self.tzid), text("%Y%m%dT%H%M%S")),
            Form::Utc => (String::new(), text("%Y%m%dT%H%M%SZ")),
            Form::Floating => (String::new(), text("%Y%m%dT%H%M%S")),
            Form::Date => (
                ";VALUE=DATE".to_string(),
                text("%Y%m%d").chars().take(8).collect(),
            ),
        }
    }

    /// A property with one date-time value near the start.
    fn time_prop(&mut self, name: &str) {
        let t = self.near();
        let form = if self.c.one_in(6) {
            self.c
                .pick(&[Form::Utc, Form::Date, Form::Floating, Form::Zoned])
        } else {
            self.form
        };
        let (params, value) = self.value(&t, form);
        self.lines.push(format!("{name}{params}:{value}"));
    }

    /// A list property (EXDATE, RDATE) with 1–3 values.
    fn list_prop(&mut self, name: &str) {
        let n = 1 + self.c.below(3);
        let form = if self.c.one_in(5) {
            self.c.pick(&[Form::Date, Form::Utc, Form::Zoned])
        } else {
            self.form
        };
        let mut params = String::new();
        let mut values = Vec::new();
        let period = name == "RDATE" && form != Form::Date && self.c.one_in(3);
        for _ in 0..n {
            let t = self.near();
            let (p, mut v) = self.value(&t, form);
            params = p;
            if period {
                if self.c.one_in(2) {
                    v = format!("{v}/{}", self.c.pick(DURATIONS));
                } else {
                    let e = self.near();
                    v = format!("{v}/{}", self.value(&e, form).1);
                }
            }
            values.push(v);
        }
        if period {
            params.push_str(";VALUE=PERIOD");
        }
        self.lines
            .push(format!("{name}{params}:{}", values.join(",")));
    }

    /// An RRULE (or a VTIMEZONE observance's rule when `yearly`).
    fn rule(&mut self, yearly: bool) -> String {
        let freq = if yearly && !self.c.one_in(8) {
            "YEARLY"
        } else {
            self.c.pick(&[
                "DAILY",
                "WEEKLY",
                "MONTHLY",
                "YEARLY",
                "HOURLY",
                "MINUTELY",
                "SECONDLY",
                "FORTNIGHTLY",
            ])
        };
        let mut parts = vec![format!("FREQ={freq}")];
        if self.c.one_in(3) {
            let i = self.c.pick(&[
                "2", "3", "7", "15", "52", "100", "366", "65535", "65536", "0", "-1", "x",
            ]);
            parts.push(format!("INTERVAL={i}"));
        }
        match self.c.below(4) {
            1 => {
                let n = self.c.pick(&[
                    "10",
                    "1",
                    "2",
                    "100",
                    "1000",
                    "100000",
                    "4294967295",
                    "4294967296",
                    "18446744073709551615",
                    "0",
                    "-3",
                ]);
                parts.push(format!("COUNT={n}"));
            }
            2 => {
                let t = self.near();
                let form = self.c.pick(&[Form::Utc, Form::Date, Form::Floating]);
                parts.push(format!("UNTIL={}", self.value(&t, form).1));
            }
            _ => {}
        }
        for _ in 0..self.c.below(4) {
            let part = self.by_part();
            parts.push(part);
        }
        if self.c.one_in(32) {
            parts.push(
                self.c
                    .pick(&["FOO=BAR", "=", "", "BYDAY", "COUNT=1"])
                    .to_string(),
            );
        }
        parts.join(";")
    }

    /// One BY-part (or WKST) with 1–3 values, in range most of the time.
    fn by_part(&mut self) -> String {
        let (name, lo, hi) = self.c.pick(&[
            ("BYDAY", 0, 0),
            ("BYMONTHDAY", -32, 32),
            ("BYMONTH", 0, 13),
            ("BYSETPOS", -367, 367),
            ("BYHOUR", 0, 24),
            ("BYMINUTE", 0, 60),
            ("BYSECOND", 0, 61),
            ("BYYEARDAY", -367, 367),
            ("BYWEEKNO", -54, 54),
            ("WKST", 0, 0),
        ]);
        let days = ["MO", "TU", "WE", "TH", "FR", "SA", "SU", "XX"];
        if name == "WKST" {
            return format!("WKST={}", self.c.pick(&days));
        }
        let n = 1 + self.c.below(3);
        let mut values = Vec::new();
        for _ in 0..n {
            values.push(if name == "BYDAY" {
                let ord = self
                    .c
                    .pick(&["", "", "1", "-1", "2", "-2", "5", "-5", "53", "0"]);
                format!("{ord}{}", self.c.pick(&days))
            } else if self.c.one_in(4) {
                // Near the edges, where the off-by-ones live.
                self.c.pick(&[lo, hi, lo + 1, hi - 1, 1, -1]).to_string()
            } else {
                self.c.range(lo, hi).to_string()
            });
        }
        format!("{name}={}", values.join(","))
    }

    /// DTEND, DUE or DURATION, or nothing.
    fn end(&mut self, events: bool) {
        match self.c.below(4) {
            1 => {
                let t = self.near();
                let form = if self.c.one_in(4) {
                    Form::Utc
                } else {
                    self.form
                };
                let (p, v) = self.value(&t, form);
                let name = if events { "DTEND" } else { "DUE" };
                self.lines.push(format!("{name}{p}:{v}"));
            }
            2 => {
                let d = self.c.pick(DURATIONS);
                self.lines.push(format!("DURATION:{d}"));
            }
            _ => {}
        }
    }

    /// A VTIMEZONE of the input's own for `tzid`.
    fn vtimezone(&mut self) -> Vec<String> {
        let mut out = vec!["BEGIN:VTIMEZONE".to_string(), format!("TZID:{}", self.tzid)];
        let offsets = [
            "+0100", "+0200", "-0500", "-0400", "+0000", "+1345", "-1200", "+1400", "+2359",
            "-2400", "+01", "x",
        ];
        for _ in 0..1 + self.c.below(3) {
            let kind = self.c.pick(&["STANDARD", "DAYLIGHT"]);
            out.push(format!("BEGIN:{kind}"));
            let t = self.fresh();
            out.push(format!("DTSTART:{}", self.value(&t, Form::Floating).1));
            out.push(format!("TZOFFSETFROM:{}", self.c.pick(&offsets)));
            out.push(format!("TZOFFSETTO:{}", self.c.pick(&offsets)));
            if self.c.below(3) > 0 {
                let r = self.rule(true);
                out.push(format!("RRULE:{r}"));
            }
            if self.c.one_in(4) {
                let t = self.fresh();
                out.push(format!("RDATE:{}", self.value(&t, Form::Floating).1));
            }
            out.push(format!("END:{kind}"));
        }
        out.push("END:VTIMEZONE".to_string());
        out
    }
}

const DURATIONS: &[&str] = &[
    "PT1H",
    "PT30M",
    "P1D",
    "P1W",
    "PT0S",
    "-PT1H",
    "P2DT3H",
    "P10000D",
    "PT1000000000S",
    "P",
    "PT",
    "P99999999W",
];

impl Case {
    /// Draws a case from the input.
    pub fn draw(c: &mut Choices<'_>) -> Option<Case> {
        let events = !c.one_in(8);
        let comp = if events { "VEVENT" } else { "VTODO" };
        let tzid = c.pick(TZIDS);
        let form = c.pick(&[Form::Zoned, Form::Utc, Form::Floating, Form::Date]);
        let mut d = Draw {
            c,
            tzid,
            base: NaiveDateTime::default(),
            form,
            lines: Vec::new(),
        };
        let start = d.fresh();
        d.base = start.clone().unwrap_or_default();
        let own_zone = form == Form::Zoned && d.c.one_in(4);
        let zone = if own_zone { d.vtimezone() } else { Vec::new() };

        // The master.
        let master = !d.c.one_in(16);
        if master {
            d.lines.push(format!("BEGIN:{comp}"));
            d.lines.push("UID:fuzz-series".to_string());
            let (p, v) = d.value(&start, form);
            d.lines.push(format!("DTSTART{p}:{v}"));
            d.end(events);
            let rules = d.c.below(3);
            let copies = if d.c.one_in(16) {
                d.c.pick(&[2, 8, 64])
            } else {
                1
            };
            for _ in 0..rules {
                let r = d.rule(false);
                for _ in 0..copies {
                    d.lines.push(format!("RRULE:{r}"));
                }
            }
            for _ in 0..d.c.below(4) {
                d.list_prop("EXDATE");
            }
            for _ in 0..d.c.below(3) {
                d.list_prop("RDATE");
            }
            if d.c.one_in(4) {
                let s = d.c.pick(&["TENTATIVE", "CANCELLED", "CONFIRMED"]);
                d.lines.push(format!("STATUS:{s}"));
            }
            if d.c.one_in(6) {
                d.lines.push("TRANSP:TRANSPARENT".to_string());
            }
            if d.c.one_in(4) {
                let ps =
                    d.c.pick(&["ACCEPTED", "DECLINED", "TENTATIVE", "NEEDS-ACTION"]);
                d.lines
                    .push(format!("ATTENDEE;PARTSTAT={ps}:mailto:owner@example.com"));
            }
            d.lines.push("SUMMARY:series".to_string());
            d.lines.push(format!("END:{comp}"));
        }

        // Overrides.
        for _ in 0..d.c.below(3) + usize::from(!master) {
            d.lines.push(format!("BEGIN:{comp}"));
            d.lines.push("UID:fuzz-series".to_string());
            let t = d.near();
            let (p, v) = d.value(&t, form);
            let range = if d.c.one_in(6) {
                ";RANGE=THISANDFUTURE"
            } else {
                ""
            };
            d.lines.push(format!("RECURRENCE-ID{p}{range}:{v}"));
            if !d.c.one_in(4) {
                d.time_prop("DTSTART");
                d.end(events);
            }
            if d.c.one_in(3) {
                d.lines.push("STATUS:CANCELLED".to_string());
            }
            d.lines.push("SUMMARY:moved".to_string());
            d.lines.push(format!("END:{comp}"));
        }

        // The window: around the series' start or far from it.
        let anchor = match d.c.below(4) {
            0 | 1 => d.base.and_utc(),
            _ => naive(d.c.pick(&[2035, 2040, 1970, 9000, 2026]), 1, 1, 0, 0, 0)?.and_utc(),
        };
        let shift = d.c.pick(&[
            Duration::zero(),
            Duration::days(1),
            Duration::days(-1),
            Duration::days(30),
            Duration::days(365),
            Duration::days(3650),
            Duration::days(36500),
            Duration::days(-3650),
        ]);
        let length = d.c.pick(&[
            Duration::days(7),
            Duration::days(1),
            Duration::hours(1),
            Duration::days(31),
            Duration::days(365),
            Duration::days(3650),
            Duration::days(365_000),
            Duration::seconds(1),
        ]);
        let start = anchor.checked_add_signed(shift)?;
        let end = start.checked_add_signed(length)?;
        let default_tz = d.c.pick(DEFAULT_TZ);

        let mut lines = vec![
            "BEGIN:VCALENDAR".to_string(),
            "VERSION:2.0".to_string(),
            "PRODID:-//calproxy//fuzz//EN".to_string(),
        ];
        lines.extend(zone);
        lines.append(&mut d.lines);
        lines.push("END:VCALENDAR".to_string());
        let mut ics = lines.join("\r\n");
        ics.push_str("\r\n");
        Some(Case {
            ics,
            start,
            end,
            default_tz,
            events,
        })
    }
}

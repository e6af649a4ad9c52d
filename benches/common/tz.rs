//! The VTIMEZONE definitions the generated events refer to by TZID.
//!
//! Written out by hand in the shape calendar clients send (a yearly RRULE
//! per observance), for IANA zones only, so that every server can also
//! resolve the TZID by name. Owns nothing else.

/// A zone a generated event may use: its TZID and its VTIMEZONE text
/// (lines without line endings).
pub struct Zone {
    /// The TZID (an IANA name).
    pub tzid: &'static str,
    /// The VTIMEZONE component, one property per entry.
    pub vtimezone: &'static [&'static str],
}

/// The zones events are spread over (with and without daylight saving,
/// both hemispheres).
pub const ZONES: [Zone; 4] = [
    Zone {
        tzid: "Europe/Berlin",
        vtimezone: &[
            "BEGIN:VTIMEZONE",
            "TZID:Europe/Berlin",
            "BEGIN:DAYLIGHT",
            "TZOFFSETFROM:+0100",
            "TZOFFSETTO:+0200",
            "TZNAME:CEST",
            "DTSTART:19700329T020000",
            "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
            "END:DAYLIGHT",
            "BEGIN:STANDARD",
            "TZOFFSETFROM:+0200",
            "TZOFFSETTO:+0100",
            "TZNAME:CET",
            "DTSTART:19701025T030000",
            "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
            "END:STANDARD",
            "END:VTIMEZONE",
        ],
    },
    Zone {
        tzid: "America/New_York",
        vtimezone: &[
            "BEGIN:VTIMEZONE",
            "TZID:America/New_York",
            "BEGIN:DAYLIGHT",
            "TZOFFSETFROM:-0500",
            "TZOFFSETTO:-0400",
            "TZNAME:EDT",
            "DTSTART:19700308T020000",
            "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU",
            "END:DAYLIGHT",
            "BEGIN:STANDARD",
            "TZOFFSETFROM:-0400",
            "TZOFFSETTO:-0500",
            "TZNAME:EST",
            "DTSTART:19701101T020000",
            "RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU",
            "END:STANDARD",
            "END:VTIMEZONE",
        ],
    },
    Zone {
        tzid: "Australia/Sydney",
        vtimezone: &[
            "BEGIN:VTIMEZONE",
            "TZID:Australia/Sydney",
            "BEGIN:STANDARD",
            "TZOFFSETFROM:+1100",
            "TZOFFSETTO:+1000",
            "TZNAME:AEST",
            "DTSTART:19700405T030000",
            "RRULE:FREQ=YEARLY;BYMONTH=4;BYDAY=1SU",
            "END:STANDARD",
            "BEGIN:DAYLIGHT",
            "TZOFFSETFROM:+1000",
            "TZOFFSETTO:+1100",
            "TZNAME:AEDT",
            "DTSTART:19701004T020000",
            "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=1SU",
            "END:DAYLIGHT",
            "END:VTIMEZONE",
        ],
    },
    Zone {
        tzid: "Asia/Kolkata",
        vtimezone: &[
            "BEGIN:VTIMEZONE",
            "TZID:Asia/Kolkata",
            "BEGIN:STANDARD",
            "TZOFFSETFROM:+0530",
            "TZOFFSETTO:+0530",
            "TZNAME:IST",
            "DTSTART:19700101T000000",
            "END:STANDARD",
            "END:VTIMEZONE",
        ],
    },
];

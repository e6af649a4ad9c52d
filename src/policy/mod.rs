//! POLICY: the one-way contract (DESIGN.md R1–R10) as pure functions over
//! `ical` values, ids and the store's record *types* (origins, collection
//! kinds, links). No I/O, no async: it never reads or writes the store.
//!
//! | rule | function |
//! | --- | --- |
//! | R1–R3 may a client write here; is it forwarded to iCloud | [`writes::object_write`] |
//! | R1 where a system event goes upstream, and in what form | [`outbound::put_target`], [`outbound::for_icloud`] |
//! | R5 inbound events lose attendees, alarms, attachments; privacy | [`inbound::view`] |
//! | R6 subscribed and reminders calendars cannot be connected | [`calendars::refusal`] |
//! | R7 one primary, any number of conflict calendars | [`calendars::check_selection`] |

pub mod calendars;
pub mod inbound;
pub mod outbound;
pub mod writes;

//! Every (operation × answer) of the outbox, with the step it leads to.
//!
//! A "412 with …" row answers the PUT with 412 and then the `GET` the plan
//! asks for with what iCloud holds: our content, our last delivery under a
//! new ETag (housekeeping), or an edit made in iCloud.

use std::time::Duration;

use super::*;

fn tag(s: &str) -> ETag {
    ETag::new(s)
}

fn hash(s: &str) -> ContentHash {
    ContentHash::new(s)
}

fn create() -> Start {
    Start::Put {
        known: None,
        pushed: None,
        ours: hash("ours"),
    }
}

fn update() -> Start {
    Start::Put {
        known: Some(tag("k")),
        pushed: Some(hash("before")),
        ours: hash("ours"),
    }
}

fn delete() -> Start {
    Start::Delete {
        known: Some(tag("k")),
    }
}

/// Starts `start`, feeds `answers` one after the other, returns every step.
fn run(start: &Start, answers: &[Answer]) -> Vec<Step> {
    let mut plan = Plan::new(start);
    let first = plan.first();
    let mut steps = vec![first];
    for a in answers {
        assert!(
            !steps.last().is_some_and(Step::is_final),
            "answer {a:?} after a final step {steps:?}"
        );
        steps.push(plan.next(a));
    }
    steps
}

fn last(start: &Start, answers: &[Answer]) -> Step {
    run(start, answers).pop().unwrap_or_else(|| unreachable!())
}

const ETAG_NEW: &str = "new";

fn ok() -> Answer {
    Answer::Success {
        etag: Some(tag(ETAG_NEW)),
    }
}
fn fetched(f: Found) -> Answer {
    Answer::Fetched(f)
}
fn same() -> Answer {
    fetched(Found::Same {
        etag: Some(tag("cur")),
    })
}
fn housekeeping() -> Answer {
    fetched(Found::Housekeeping {
        etag: Some(tag("cur")),
    })
}
fn edited() -> Answer {
    fetched(Found::Edited {
        etag: Some(tag("cur")),
    })
}
fn server_error() -> Answer {
    Answer::ServerError { status: 500 }
}
fn throttled() -> Answer {
    Answer::Throttled {
        retry_after: Some(Duration::from_secs(30)),
    }
}
fn network() -> Answer {
    Answer::Network {
        reason: "connection refused".into(),
    }
}

fn delivered(etag: Option<&str>) -> Step {
    Step::Delivered {
        etag: etag.map(tag),
    }
}

fn is_retry(s: &Step) -> bool {
    matches!(s, Step::Retry { .. })
}

fn rejected(s: &Step, status: u16) -> bool {
    matches!(s, Step::Rejected { status: got, .. } if *got == status)
}

#[test]
fn first_steps_carry_the_conditions() {
    assert_eq!(run(&create(), &[]), vec![Step::Put(PutCondition::Create)]);
    assert_eq!(
        run(&update(), &[]),
        vec![Step::Put(PutCondition::Replace(tag("k")))]
    );
    assert_eq!(
        run(&delete(), &[]),
        vec![Step::Delete {
            if_match: Some(tag("k"))
        }]
    );
    // Already delivered with exactly this content: nothing to send.
    let coalesced = Start::Put {
        known: Some(tag("k")),
        pushed: Some(hash("ours")),
        ours: hash("ours"),
    };
    assert_eq!(run(&coalesced, &[]), vec![delivered(Some("k"))]);
}

#[test]
fn create_x_every_answer() {
    let c = create();
    assert_eq!(last(&c, &[ok()]), delivered(Some(ETAG_NEW)));
    assert!(rejected(&last(&c, &[Answer::NotFound]), 404));
    assert!(rejected(&last(&c, &[Answer::Conflict]), 409));
    // 412, same content: our own earlier delivery (a crash before we knew).
    assert_eq!(
        run(&c, &[Answer::PreconditionFailed, same()]),
        vec![
            Step::Put(PutCondition::Create),
            Step::Get,
            delivered(Some("cur"))
        ]
    );
    // 412, housekeeping or another version of ours: overwrite once.
    for found in [housekeeping(), edited()] {
        assert_eq!(
            run(&c, &[Answer::PreconditionFailed, found.clone(), ok()]),
            vec![
                Step::Put(PutCondition::Create),
                Step::Get,
                Step::Put(PutCondition::Replace(tag("cur"))),
                delivered(Some(ETAG_NEW)),
            ],
            "{found:?}"
        );
    }
    assert!(is_retry(&last(&c, &[server_error()])));
    assert_eq!(
        last(&c, &[throttled()]),
        Step::Retry {
            after: Some(Duration::from_secs(30)),
            reason: "iCloud is throttling".into()
        }
    );
    assert!(is_retry(&last(&c, &[network()])));
}

#[test]
fn update_x_every_answer() {
    let u = update();
    assert_eq!(last(&u, &[ok()]), delivered(Some(ETAG_NEW)));
    assert_eq!(last(&u, &[Answer::NotFound]), Step::DeletedUpstream);
    assert!(rejected(&last(&u, &[Answer::Conflict]), 409));
    assert_eq!(
        last(&u, &[Answer::PreconditionFailed, same()]),
        delivered(Some("cur"))
    );
    assert_eq!(
        run(&u, &[Answer::PreconditionFailed, housekeeping(), ok()]),
        vec![
            Step::Put(PutCondition::Replace(tag("k"))),
            Step::Get,
            Step::Put(PutCondition::Replace(tag("cur"))),
            delivered(Some(ETAG_NEW)),
        ]
    );
    // A real edit in iCloud: iCloud wins.
    assert_eq!(
        last(&u, &[Answer::PreconditionFailed, edited()]),
        Step::Adopt {
            etag: Some(tag("cur"))
        }
    );
    assert!(is_retry(&last(&u, &[server_error()])));
    assert!(matches!(
        last(&u, &[throttled()]),
        Step::Retry { after: Some(d), .. } if d == Duration::from_secs(30)
    ));
    assert!(is_retry(&last(&u, &[network()])));
}

#[test]
fn delete_x_every_answer() {
    let d = delete();
    assert_eq!(last(&d, &[ok()]), delivered(None));
    assert_eq!(last(&d, &[Answer::NotFound]), delivered(None));
    assert!(rejected(&last(&d, &[Answer::Conflict]), 409));
    // 412 (whatever iCloud holds now: same, housekeeping or an edit): the
    // user still deleted it, so delete what is there, unconditionally.
    assert_eq!(
        run(&d, &[Answer::PreconditionFailed, ok()]),
        vec![
            Step::Delete {
                if_match: Some(tag("k"))
            },
            Step::Delete { if_match: None },
            delivered(None),
        ]
    );
    assert!(is_retry(&last(&d, &[server_error()])));
    assert!(matches!(
        last(&d, &[throttled()]),
        Step::Retry { after: Some(_), .. }
    ));
    assert!(is_retry(&last(&d, &[network()])));
}

#[test]
fn the_412_path_never_loops() {
    // Housekeeping again after our overwrite: wait, do not overwrite twice.
    let s = last(
        &update(),
        &[
            Answer::PreconditionFailed,
            housekeeping(),
            Answer::PreconditionFailed,
            housekeeping(),
        ],
    );
    assert!(is_retry(&s), "{s:?}");
    // An unconditional delete refused with 412 is final.
    let s = last(
        &delete(),
        &[Answer::PreconditionFailed, Answer::PreconditionFailed],
    );
    assert!(rejected(&s, 412), "{s:?}");
}

#[test]
fn gone_another_event_and_missing_etags() {
    assert_eq!(
        last(
            &update(),
            &[Answer::PreconditionFailed, fetched(Found::Gone)]
        ),
        Step::DeletedUpstream
    );
    assert!(is_retry(&last(
        &create(),
        &[Answer::PreconditionFailed, fetched(Found::Gone)]
    )));
    for start in [create(), update()] {
        assert!(rejected(
            &last(
                &start,
                &[Answer::PreconditionFailed, fetched(Found::OtherEvent)]
            ),
            412
        ));
    }
    // QUIRK(iCloud) §4: a 2xx without ETag is followed by a GET for it.
    assert_eq!(
        run(&create(), &[Answer::Success { etag: None }, same()]),
        vec![
            Step::Put(PutCondition::Create),
            Step::Get,
            delivered(Some("cur"))
        ]
    );
    assert_eq!(
        last(&create(), &[Answer::Success { etag: None }, network()]),
        delivered(None)
    );
}

#[test]
fn credentials_and_other_refusals() {
    for start in [create(), update(), delete()] {
        assert!(is_retry(&last(&start, &[Answer::Unauthorized])));
        assert!(rejected(
            &last(&start, &[Answer::Refused { status: 400 }]),
            400
        ));
    }
}

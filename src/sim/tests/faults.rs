//! Request hygiene and fault injection (ICLOUD.md §1.5, §5.2).

use super::*;

#[tokio::test]
async fn icloud_leading_whitespace_in_xml_is_400() {
    let e = env().await;
    let body = format!("\n  {}", query("<c:comp-filter name=\"VEVENT\"/>"));
    let a = e.report(&e.cal("home"), "1", &body).await;
    assert_eq!(a.status, 400);
    e.sim.faults().leading_whitespace_400(false);
    let b = e.report(&e.cal("home"), "1", &body).await;
    assert_eq!(b.status, 207);
}

#[tokio::test]
async fn icloud_503_with_retry_after_then_recovers() {
    let e = env().await;
    e.sim.faults().fail_next(1, 503, Some(7));
    let p = e.obj("home", "dentist.ics");
    let a = e.send("GET", &p, &[], "").await;
    assert_eq!(a.status, 503);
    assert_eq!(a.header("retry-after"), Some("7"));
    assert_eq!(e.send("GET", &p, &[], "").await.status, 200);
    let seen = e.sim.requests();
    assert_eq!(
        seen.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![503, 200]
    );
}

#[tokio::test]
async fn icloud_fail_all_until_cleared() {
    let e = env().await;
    e.sim.faults().fail_all(Some((500, None)));
    let p = e.obj("home", "dentist.ics");
    assert_eq!(e.send("GET", &p, &[], "").await.status, 500);
    assert_eq!(e.send("GET", &p, &[], "").await.status, 500);
    e.sim.faults().fail_all(None);
    assert_eq!(e.send("GET", &p, &[], "").await.status, 200);
}

#[tokio::test]
async fn sim_dropped_connection_gives_no_answer() {
    let e = env().await;
    e.sim.faults().drop_connections(true);
    let r = e
        .raw("GET", &e.url(&e.obj("home", "dentist.ics")), &[], "", true)
        .await;
    assert!(r.is_err(), "expected a transport error");
    assert_eq!(e.sim.request_count(), 1);
    assert_eq!(e.sim.requests()[0].status, 0);
}

#[tokio::test]
async fn sim_records_requests_with_headers() {
    let e = env().await;
    e.put(
        &e.obj("home", "r.ics"),
        &[("if-none-match", "*")],
        &with_end("r"),
    )
    .await;
    let seen = e.sim.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "PUT");
    assert_eq!(seen[0].if_none_match.as_deref(), Some("*"));
    assert!(seen[0].partition);
    assert!(seen[0].body.contains("UID:r"));
    e.sim.clear_requests();
    assert_eq!(e.sim.request_count(), 0);
}

#[tokio::test]
async fn sim_find_by_uid_and_demo_content() {
    let e = env().await;
    let found = e.sim.find_by_uid("demo-team-standup@calproxy");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0, "home");
    let demo = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sim/home/team-standup.ics"),
    )
    .expect("demo fixture");
    assert_eq!(found[0].1.ics.replace("\r\n", "\n"), demo);
}

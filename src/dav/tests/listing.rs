//! `dav::listing` reads member listings without a tree; the tree reader
//! (`MultiStatus::parse`, then `bare_status` and `prop_text(getetag)`) is
//! its oracle: the same rows and token for every body it accepts, and an
//! error for every body it refuses.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::dav::listing::{self, Listing, Row};
use crate::dav::{names, MultiStatus, XmlLimits};

use super::fixture;

/// The rows the tree reader gives.
fn oracle(bytes: &[u8]) -> Result<Listing, crate::dav::Error> {
    let ms = MultiStatus::parse(bytes)?;
    Ok(Listing {
        rows: ms
            .responses
            .iter()
            .map(|r| Row {
                href: r.href.clone(),
                status: r.bare_status(),
                etag: r.prop_text(&names::GETETAG).map(str::to_string),
            })
            .collect(),
        sync_token: ms.sync_token,
    })
}

fn agree(what: &str, bytes: &[u8]) -> bool {
    let streamed = listing::read(bytes, &XmlLimits::upstream());
    match (oracle(bytes), streamed) {
        (Ok(want), Ok(got)) => {
            assert_eq!(got, want, "{what}");
            true
        }
        (Err(_), Err(_)) => false,
        (want, got) => panic!("{what}: tree reader {want:?}, listing reader {got:?}"),
    }
}

#[test]
fn upstream_fixtures_and_the_fuzz_corpus_read_the_same_as_with_the_tree() {
    let root = format!("{}/fixtures", env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in [
        "upstream/icloud",
        "upstream/radicale",
        "upstream/xandikos",
        "fuzz/upstream",
    ] {
        let mut names: Vec<_> = std::fs::read_dir(format!("{root}/{dir}"))
            .unwrap()
            .flatten()
            .map(|e| format!("{dir}/{}", e.file_name().to_string_lossy()))
            .collect();
        names.sort();
        files.extend(names);
    }
    assert!(files.len() > 100, "{} files", files.len());
    let accepted = files.iter().filter(|f| agree(f, &fixture(f))).count();
    // The real servers' answers are all accepted.
    assert!(accepted >= 9, "{accepted} accepted");
    let sync = listing::read(
        &fixture("upstream/icloud/02-sync-collection.xml"),
        &XmlLimits::upstream(),
    )
    .unwrap();
    assert!(sync.sync_token.is_some());
    assert!(sync.rows.iter().any(|r| r.status == Some(404)));
    assert!(sync.rows.iter().any(|r| r.etag.is_some()));
}

/// A random multistatus: odd but legal shapes (several hrefs, propstats
/// merged by status, getetag empty, blank, with children or outside 2xx,
/// other namespaces' elements, comments, CDATA, entities, default
/// namespaces), and sometimes a mistake (a missing or bad status, a
/// response without href, another root).
fn random_body(rng: &mut StdRng) -> String {
    let d = if rng.gen_bool(0.5) { "d:" } else { "" };
    let mut s = String::from("<?xml version=\"1.0\"?>\n");
    let root = if rng.gen_ratio(1, 40) {
        "prop"
    } else {
        "multistatus"
    };
    if d.is_empty() {
        s += &format!("<{root} xmlns=\"DAV:\" xmlns:x=\"urn:x\">");
    } else {
        s += &format!("<d:{root} xmlns:d=\"DAV:\" xmlns:x=\"urn:x\">");
    }
    let status = |rng: &mut StdRng| -> String {
        match rng.gen_range(0..20) {
            0 => "HTTP/1.1 teapot".into(),
            1 => String::new(),
            n => format!(
                " HTTP/1.1 {} X ",
                [200, 201, 404, 410, 403, 207][n as usize % 6]
            ),
        }
    };
    for i in 0..rng.gen_range(0..8) {
        if rng.gen_ratio(1, 10) {
            s += &format!("<{d}sync-token> tok-{i} </{d}sync-token>");
        }
        if rng.gen_ratio(1, 12) {
            s += "<!-- a comment --><x:other>text</x:other>";
        }
        s += &format!("<{d}response>");
        let hrefs = if rng.gen_ratio(1, 30) {
            0
        } else {
            rng.gen_range(1..3)
        };
        for h in 0..hrefs {
            if rng.gen_bool(0.2) {
                s += &format!("<{d}href><![CDATA[/c/e{i}-{h}.ics]]></{d}href>");
            } else {
                s += &format!("<{d}href> /c/e{i}&amp;{h}.ics </{d}href>");
            }
        }
        let propstats = rng.gen_range(0..4);
        for _ in 0..propstats {
            s += &format!("<{d}propstat><{d}prop>");
            for _ in 0..rng.gen_range(0..3) {
                s += &match rng.gen_range(0..6) {
                    0 => format!("<{d}getetag>\"e{}\"</{d}getetag>", rng.gen_range(0..9)),
                    1 => format!("<{d}getetag/>"),
                    2 => format!("<{d}getetag>  </{d}getetag>"),
                    3 => format!("<{d}getetag>a<x:b>c</x:b>d</{d}getetag>"),
                    4 => format!("<{d}displayname>n</{d}displayname>"),
                    _ => "<x:getetag>\"not DAV\"</x:getetag>".to_string(),
                };
            }
            s += &format!("</{d}prop>");
            if !rng.gen_ratio(1, 25) {
                s += &format!("<{d}status>{}</{d}status>", status(rng));
            }
            s += &format!("</{d}propstat>");
        }
        if propstats == 0 || rng.gen_ratio(1, 10) {
            if !rng.gen_ratio(1, 25) {
                s += &format!("<{d}status>{}</{d}status>", status(rng));
            }
            if rng.gen_ratio(1, 5) {
                s += &format!("<{d}error><{d}need-privileges/></{d}error>");
            }
        }
        s += &format!("</{d}response>");
    }
    if rng.gen_bool(0.5) {
        s += &format!(
            "<{d}sync-token>http://x/sync/{}</{d}sync-token>",
            rng.gen::<u16>()
        );
    }
    s += &format!("</{d}{root}>");
    s
}

#[test]
fn random_listings_read_the_same_as_with_the_tree() {
    let mut rng = StdRng::seed_from_u64(6578);
    let (mut accepted, mut refused) = (0, 0);
    for case in 0..3_000 {
        let body = random_body(&mut rng);
        if agree(&format!("case {case}: {body}"), body.as_bytes()) {
            accepted += 1;
        } else {
            refused += 1;
        }
    }
    // Both kinds are exercised.
    assert!(
        accepted > 1_000 && refused > 100,
        "{accepted} accepted, {refused} refused"
    );
}

#[test]
fn a_large_listing_is_read_within_the_upstream_limits() {
    let mut body = String::from("<d:multistatus xmlns:d=\"DAV:\">");
    for i in 0..100_000 {
        body += &format!(
            "<d:response><d:href>/c/{i}.ics</d:href><d:propstat><d:prop><d:getetag>\"{i}\"</d:getetag></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>"
        );
    }
    body += "<d:sync-token>t</d:sync-token></d:multistatus>";
    let l = listing::read(body.as_bytes(), &XmlLimits::upstream()).unwrap();
    assert_eq!(l.rows.len(), 100_000);
    assert_eq!(l.rows[99_999].etag.as_deref(), Some("\"99999\""));
    // The element limit still holds.
    let tight = XmlLimits {
        max_elements: 1_000,
        ..XmlLimits::upstream()
    };
    assert!(listing::read(body.as_bytes(), &tight).is_err());
}

//! `fieldsync-tools loadgen` against a real server: a short run delivers events
//! to every kind of subscriber with nothing missed and nothing twice.

use std::time::Duration;

use fieldsync_tools::loadgen::{self, Options};

use crate::helpers::{Backend, spawn_app};

#[tokio::test]
async fn a_short_load_delivers_events_with_no_gaps_and_no_duplicates() {
    let app = spawn_app(Backend::Sqlite).await;
    let options = Options {
        url: app.address.clone(),
        org: app.demo.slug.clone(),
        password: fieldsync::demo::DEMO_PASSWORD.to_owned(),
        subscribers: 20,
        rate: 20,
        duration: Duration::from_secs(3),
        reconnect_storm: false,
        server_pid: None,
    };

    let report = loadgen::run(&options).await.expect("the load ran");
    println!("{report}");

    assert_eq!(report.connected, 20, "{report}");
    assert_eq!(report.protocol_errors, 0, "{report}");
    assert!(report.mutations_sent > 0, "{report}");
    assert_eq!(report.mutations_failed, 0, "{report}");
    assert!(report.events > 0, "{report}");
    assert!(report.gap_checked > 0, "{report}");
    assert_eq!(report.gaps, 0, "{report}");
    assert_eq!(report.duplicates, 0, "{report}");
}

#[tokio::test]
async fn the_load_generator_refuses_a_host_that_is_not_loopback() {
    let options = Options {
        url: "http://192.0.2.1:8080".into(),
        org: "demo".into(),
        password: "demo".into(),
        subscribers: 1,
        rate: 0,
        duration: Duration::from_secs(1),
        reconnect_storm: false,
        server_pid: None,
    };
    let refused = loadgen::run(&options).await;
    assert!(
        matches!(refused, Err(loadgen::Error::NotLoopback(_))),
        "{refused:?}"
    );
}

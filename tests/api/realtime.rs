//! The live feed behind subscriptions, driven through the library with
//! writes over real HTTP: role filtering, mid-stream unassignment, resume
//! with no gap and no duplicate while writes race the switch.

use std::pin::Pin;
use std::time::Duration;

use entity::enums::EntityType;
use fieldsync::auth::{Principal, principal};
use fieldsync::events::feed::{self, FeedEvent};
use futures_util::{Stream, StreamExt};
use serde_json::json;

use crate::cluster::Cluster;
use crate::helpers::{Backend, PROGRESS, ServeProcess, TestApp, spawn_app};
use crate::ws;

type Feed = Pin<Box<dyn Stream<Item = FeedEvent> + Send>>;

async fn open(app: &TestApp, who: Principal, types: Vec<EntityType>, after: Option<&str>) -> Feed {
    let stream = feed::open(
        app.state.hub.clone(),
        app.state.db.clone(),
        who,
        types,
        after,
        30,
    )
    .await
    .expect("feed opens");
    Box::pin(stream)
}

async fn next(feed: &mut Feed) -> FeedEvent {
    tokio::time::timeout(Duration::from_secs(10), feed.next())
        .await
        .expect("an event within 10 s")
        .expect("the feed is open")
}

async fn as_user(app: &TestApp, id: entity::ids::UserId) -> Principal {
    principal::load(&app.state.db, id).await.unwrap()
}

/// Sets a task's progress as the administrator.
/// The progress in the next event of a feed of tasks.
async fn progress_of(feed: &mut Feed) -> i64 {
    let event = next(feed).await;
    event.change.snapshot.as_ref().unwrap()["progress"]
        .as_i64()
        .unwrap()
}

async fn set_progress(app: &TestApp, id: &str, progress: i64) {
    app.graphql(
        Some(&app.admin()),
        PROGRESS,
        json!({ "id": id, "p": progress }),
    )
    .await
    .ok();
}

async fn a_change_reaches_only_subscribers_who_may_see_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut client1 = open(&app, as_user(&app, app.demo.clients[0]).await, vec![], None).await;
    let mut client2 = open(
        &app,
        as_user(&app, app.demo.clients[1]).await,
        vec![EntityType::Task],
        None,
    )
    .await;
    let mut stranger = open(&app, as_user(&app, app.other.admin).await, vec![], None).await;
    let in_b3 = app.task_in(2, "IN_PROGRESS").await;
    let in_b1 = app.task_in(0, "IN_PROGRESS").await;
    set_progress(&app, &in_b3, 61).await;
    set_progress(&app, &in_b1, 62).await;
    let event = next(&mut client1).await;
    assert_eq!(
        event.change.entity_id.to_string(),
        in_b1,
        "client1 never hears of building 3"
    );
    assert_eq!(event.change.snapshot.as_ref().unwrap()["progress"], 62);
    assert_eq!(event.change.changed_fields, vec!["progress".to_owned()]);
    let event = next(&mut client2).await;
    assert_eq!(
        event.change.entity_id.to_string(),
        in_b3,
        "client2 hears of building 3"
    );
    // ... and not of building 1: the next thing they get is the next change
    // they may see, not building 1's written before it.
    set_progress(&app, &in_b3, 63).await;
    let event = next(&mut client2).await;
    assert_eq!(
        (
            event.change.entity_id.to_string(),
            &event.change.snapshot.as_ref().unwrap()["progress"]
        ),
        (in_b3.clone(), &json!(63)),
        "client2 never hears of building 1"
    );
    // Another organisation hears nothing: its next event is its own change.
    let theirs = app
        .query(
            &app.other_admin(),
            "{ tasks(first: 1) { edges { node { id } } } }",
        )
        .await
        .nodes("tasks")[0]["id"]
        .clone();
    app.graphql(
        Some(&app.other_admin()),
        "mutation($id: ID!) { updateTaskProgress(id: $id, progress: 5) { outcome } }",
        json!({ "id": theirs }),
    )
    .await
    .ok();
    let event = next(&mut stranger).await;
    assert_eq!(event.change.entity_id.to_string(), theirs.as_str().unwrap());
}

async fn an_unassigned_worker_stops_hearing_of_the_building_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut worker = open(&app, as_user(&app, app.demo.workers[0]).await, vec![], None).await;
    let open_task = app.task_in(0, "PENDING").await;
    set_progress(&app, &open_task, 10).await;
    assert_eq!(
        next(&mut worker).await.change.entity_id.to_string(),
        open_task
    );
    let unassign = "mutation($w: ID!, $b: ID!) { assignWorkerToBuilding(workerId: $w, buildingId: $b, assigned: false) { outcome } }";
    app.graphql(
        Some(&app.admin()),
        unassign,
        json!({ "w": app.demo.workers[0].to_string(), "b": app.demo.buildings[0].to_string() }),
    )
    .await
    .ok();
    let mut tombstones = Vec::new();
    loop {
        let event = next(&mut worker).await;
        assert!(
            event.change.tombstone,
            "after unassignment only tombstones: {event:?}"
        );
        tombstones.push(event.change.entity_id.to_string());
        if event.change.entity_type == EntityType::Building {
            break;
        }
    }
    // A later change in building 1 must not arrive; worker1's own status
    // change marks the end of what they may receive.
    set_progress(&app, &open_task, 20).await;
    app.graphql(
        Some(&app.worker(1)),
        "mutation { setWorkerStatus(status: ON_BREAK) { outcome } }",
        json!({}),
    )
    .await
    .ok();
    loop {
        let event = next(&mut worker).await;
        if event.change.entity_type == EntityType::WorkerStatus {
            break;
        }
        assert!(
            event.change.tombstone,
            "no live event of building 1 after unassignment: {event:?}"
        );
    }
    assert!(tombstones.contains(&app.demo.buildings[0].to_string()));
}

async fn resume_replays_what_was_missed_then_goes_live_without_gap_or_duplicate(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = as_user(&app, app.demo.admin).await;
    let id = app.task_in(0, "IN_PROGRESS").await;
    let mut first = open(&app, admin, vec![EntityType::Task], None).await;
    set_progress(&app, &id, 1).await;
    let cursor = next(&mut first).await.cursor;
    drop(first);
    // Missed while away: these can only come from the replay.
    for p in 2..=10 {
        set_progress(&app, &id, p).await;
    }
    // Writes keep coming while the subscriber reconnects: they fall on
    // either side of the hand-over from replay to live.
    let writer = {
        let client = app.client.clone();
        let address = app.address.clone();
        let token = app.admin();
        let id = id.clone();
        tokio::spawn(async move {
            for p in 11..=40 {
                client
                    .post(format!("{address}/graphql"))
                    .bearer_auth(&token)
                    .json(&json!({ "query": PROGRESS, "variables": { "id": id, "p": p } }))
                    .send()
                    .await
                    .unwrap();
            }
        })
    };
    let mut resumed = open(&app, admin, vec![EntityType::Task], Some(&cursor)).await;
    let mut seen: Vec<i64> = Vec::new();
    while seen.last() != Some(&40) {
        seen.push(progress_of(&mut resumed).await);
    }
    writer.await.unwrap();
    // Written after the feed caught up: these can only come live.
    for p in 41..=45 {
        set_progress(&app, &id, p).await;
        seen.push(progress_of(&mut resumed).await);
    }
    assert_eq!(
        seen,
        (2..=45).collect::<Vec<_>>(),
        "every write once, in order: replayed, across the hand-over, and live"
    );
    let old =
        fieldsync::changelog::cursor::encode(1, chrono::Utc::now() - chrono::Duration::days(40));
    let expired = feed::open(
        app.state.hub.clone(),
        app.state.db.clone(),
        admin,
        vec![],
        Some(&old),
        30,
    )
    .await;
    assert!(matches!(
        expired,
        Err(fieldsync::error::Error::CursorExpired)
    ));
}

/// A feed that resumed from a cursor (replay, then live) and a feed opened
/// live see exactly the same events: the two paths agree on visibility.
async fn resumed_and_live_feeds_agree_on_what_a_client_sees(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = as_user(&app, app.demo.clients[0]).await;
    let cursor = app
        .query(&app.client(1), "{ syncPull(limit: 1000) { cursor } }")
        .await
        .ok()["syncPull"]["cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut resumed = open(&app, client, vec![], Some(&cursor)).await;
    let mut live = open(&app, client, vec![], None).await;
    let visible = app.task_in(0, "IN_PROGRESS").await;
    let hidden = app.task_in(2, "IN_PROGRESS").await;
    for p in 1..=5 {
        set_progress(&app, &hidden, p).await;
        set_progress(&app, &visible, 50 + p).await;
    }
    let mut a = Vec::new();
    let mut b = Vec::new();
    for _ in 0..5 {
        let e = next(&mut resumed).await;
        a.push((e.change.entity_id.to_string(), e.change.version));
        let e = next(&mut live).await;
        b.push((e.change.entity_id.to_string(), e.change.version));
    }
    assert_eq!(a, b);
    assert!(
        a.iter().all(|(id, _)| *id == visible),
        "only building 1: {a:?}"
    );
}

/// Two `fieldsync serve` processes on one PostgreSQL: a write on A reaches
/// a subscriber on B through LISTEN/NOTIFY, and when PostgreSQL restarts in
/// the middle of a stream of writes, every write it accepted still reaches
/// B's socket in order, exactly once.
#[tokio::test]
async fn two_instances_on_postgres_survive_a_database_restart() {
    let Some((cluster, app)) = Cluster::with_app().await else {
        return;
    };
    // Polling a minute apart: B hears of A's writes through LISTEN/NOTIFY
    // (and its reconnection after the restart), or not in time at all.
    let quiet = [("FIELDSYNC_SYNC_POLL_INTERVAL_MS", "60000")];
    let a = ServeProcess::start(&app, &quiet).await;
    let b = ServeProcess::start(&app, &quiet).await;
    let task = app.task_in(0, "IN_PROGRESS").await;
    let cursor = app.newest_cursor().await;

    let url = format!("{}/graphql/ws", b.address.replacen("http://", "ws://", 1));
    let mut socket = ws::connect_to(&url, ws::TRANSPORT).await;
    ws::init(&mut socket, &app.admin()).await;
    let query = "subscription($after: String) { changes(entityTypes: [TASK], after: $after) { version snapshot } }";
    ws::send(
        &mut socket,
        ws::subscribe("s", query, json!({ "after": cursor })),
    )
    .await;

    // Writes through A, one after another; a write refused while the
    // database is down is sent again until accepted.
    const WRITES: i64 = 30;
    let writer = {
        let (client, admin) = (app.client.clone(), app.admin());
        let (endpoint, task) = (format!("{}/graphql", a.address), task.clone());
        tokio::spawn(async move {
            let mut refused = 0;
            for p in 1..=WRITES {
                let body = json!({ "query": PROGRESS, "variables": { "id": task, "p": p } });
                loop {
                    let answer = client
                        .post(&endpoint)
                        .bearer_auth(&admin)
                        .json(&body)
                        .send()
                        .await;
                    let accepted = match answer {
                        Ok(response) => response
                            .json::<serde_json::Value>()
                            .await
                            .is_ok_and(|v| v["data"]["updateTaskProgress"]["outcome"] == "APPLIED"),
                        Err(_) => false,
                    };
                    if accepted {
                        break;
                    }
                    refused += 1;
                    assert!(refused < 300, "A never accepted write {p} again");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                tokio::time::sleep(Duration::from_millis(40)).await;
            }
            refused
        })
    };

    let mut seen: Vec<(i64, i64)> = Vec::new();
    let mut restarted = false;
    while seen.last().is_none_or(|&(_, progress)| progress < WRITES) {
        // Long enough for the writer's retries (its own limit is 30 s).
        let message = ws::recv_operation_within(&mut socket, Duration::from_secs(40)).await;
        assert_eq!(message["type"], "next", "{message}");
        let event = &message["payload"]["data"]["changes"];
        let version = event["version"].as_i64().unwrap();
        let progress = event["snapshot"]["progress"].as_i64().unwrap();
        seen.push((version, progress));
        if progress == 10 && !restarted {
            // Writes keep coming meanwhile; B's socket buffers its events.
            cluster.restart().await;
            restarted = true;
        }
    }
    let refused = writer.await.unwrap();
    assert!(restarted);
    assert!(
        refused > 0,
        "the restart cut A off: some writes were refused and sent again"
    );
    eprintln!("writes refused while PostgreSQL restarted: {refused}");
    let versions: Vec<i64> = seen.iter().map(|&(v, _)| v).collect();
    let expected: Vec<i64> = (versions[0]..versions[0] + versions.len() as i64).collect();
    assert_eq!(versions, expected, "every version once, in order: {seen:?}");
    // A write whose answer the restart cut may have been sent twice.
    let mut progress: Vec<i64> = seen.iter().map(|&(_, p)| p).collect();
    progress.dedup();
    assert_eq!(
        progress,
        (1..=WRITES).collect::<Vec<_>>(),
        "every accepted write, in order"
    );
}

/// Sets a task's progress twice after a cursor, then opens the
/// administrator's feed from that cursor on a second instance's state,
/// whose hub starts after those writes (so the replay must read the log):
/// the task, the feed, and that state.
async fn replay_from_before_a_fresh_hub(
    app: &TestApp,
    progress: [i64; 2],
) -> (String, Feed, fieldsync::state::AppState) {
    let id = app.task_in(0, "IN_PROGRESS").await;
    let before = app.newest_cursor().await;
    for p in progress {
        set_progress(app, &id, p).await;
    }
    let fresh = fieldsync::state::AppState::connect((*app.state.settings).clone())
        .await
        .unwrap();
    let admin = as_user(app, app.demo.admin).await;
    let stream = feed::open(
        fresh.hub.clone(),
        fresh.db.clone(),
        admin,
        vec![EntityType::Task],
        Some(&before),
        30,
    )
    .await
    .unwrap();
    (id, Box::pin(stream), fresh)
}

/// A cursor from before the instance's hub started lies outside the rows
/// it keeps in memory: the replay reads the log instead, and goes live
/// from there without a gap.
async fn a_resume_older_than_the_hub_reads_the_log(backend: Backend) {
    let app = spawn_app(backend).await;
    let (id, mut feed, fresh) = replay_from_before_a_fresh_hub(&app, [61, 62]).await;
    tokio::spawn(fieldsync::Application::build(fresh).await.unwrap().run());
    set_progress(&app, &id, 63).await;
    let mut seen = Vec::new();
    for _ in 0..3 {
        let event = next(&mut feed).await;
        seen.push(event.change.snapshot.unwrap()["progress"].as_i64().unwrap());
    }
    assert_eq!(seen, vec![61, 62, 63]);
}

/// A resumed worker learns that a task left their view (a tombstone) even
/// when another organisation wrote after it: replay reads the previous
/// versions it needs in its own organisation only.
async fn a_replay_tombstones_what_left_the_view_amid_other_organisations_writes(backend: Backend) {
    let app = spawn_app(backend).await;
    let assign = "mutation($id: ID!, $w: ID) { assignTask(id: $id, assigneeId: $w) { outcome } }";
    let task = app.task_in(0, "PENDING").await;
    let to = |worker: usize| json!({ "id": task, "w": app.demo.workers[worker].to_string() });
    app.graphql(Some(&app.admin()), assign, to(0)).await.ok();
    let cursor = app.newest_cursor().await;
    app.graphql(Some(&app.admin()), assign, to(1)).await.ok();
    let theirs = app
        .graphql(
            Some(&app.other_admin()),
            "{ tasks(filter: { status: [IN_PROGRESS] }) { edges { node { id } } } }",
            json!({}),
        )
        .await
        .nodes("tasks")[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.graphql(
        Some(&app.other_admin()),
        PROGRESS,
        json!({ "id": theirs, "p": 17 }),
    )
    .await
    .ok();
    let worker1 = as_user(&app, app.demo.workers[0]).await;
    let mut feed = open(&app, worker1, vec![EntityType::Task], Some(&cursor)).await;
    let event = next(&mut feed).await;
    assert_eq!(event.change.entity_id.to_string(), task, "{event:?}");
    assert!(event.change.tombstone, "it left worker1's view: {event:?}");
}

/// A feed replaying from the log while the database is down waits for it
/// and carries on, instead of ending.
#[tokio::test]
async fn a_replay_rides_out_the_database_going_away() {
    let Some((cluster, app)) = Cluster::with_app().await else {
        return;
    };
    let (_, mut feed, _fresh) = replay_from_before_a_fresh_hub(&app, [81, 82]).await;
    cluster.stop().await;
    let back = async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        cluster.resume().await;
    };
    let read = async {
        let mut seen = Vec::new();
        for _ in 0..2 {
            let event = tokio::time::timeout(Duration::from_secs(40), feed.next())
                .await
                .expect("an event once the database is back")
                .expect("the feed is still open");
            seen.push(event.change.snapshot.unwrap()["progress"].as_i64().unwrap());
        }
        seen
    };
    let ((), seen) = tokio::join!(back, read);
    assert_eq!(seen, vec![81, 82]);
}

crate::on_both_backends!(
    a_replay_tombstones_what_left_the_view_amid_other_organisations_writes,
    a_resume_older_than_the_hub_reads_the_log,
    a_change_reaches_only_subscribers_who_may_see_it,
    an_unassigned_worker_stops_hearing_of_the_building_at_once,
    resume_replays_what_was_missed_then_goes_live_without_gap_or_duplicate,
    resumed_and_live_feeds_agree_on_what_a_client_sees,
);

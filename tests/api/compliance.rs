//! Building status and compliance writes: what administrators may do, the
//! one thing clients may do (acknowledge alerts of their buildings), stale
//! versions merged three ways or recorded as conflicts, and other
//! organisations kept out.

use serde_json::{Value, json};

use crate::helpers::{Answer, Backend, TestApp, spawn_app};

const RESULT: &str = "outcome entityType entityId version mergedFields overriddenFields \
    conflict { id fields { field base server client } } \
    entity { \
      ... on Building { id status version } \
      ... on Violation { id status severity description penaltyCents resolvedAt version } \
      ... on Inspection { id kind result notes completedAt version } \
      ... on ComplianceAlert { id message acknowledgedAt acknowledgedBy { id } version } \
    }";

fn set_status() -> String {
    format!(
        "mutation($id: ID!, $s: BuildingStatus!, $v: Int) \
         {{ setBuildingStatus(id: $id, status: $s, expectedVersion: $v) {{ {RESULT} }} }}"
    )
}

fn create_violation() -> String {
    format!(
        "mutation($input: CreateViolationInput!) \
         {{ createViolation(input: $input) {{ {RESULT} }} }}"
    )
}

fn update_violation() -> String {
    format!(
        "mutation($id: ID!, $v: Int, $p: ViolationPatchInput!, $c: ConflictStrategy = MERGE) \
         {{ updateViolation(id: $id, expectedVersion: $v, patch: $p, onConflict: $c) {{ {RESULT} }} }}"
    )
}

fn resolve_violation() -> String {
    format!(
        "mutation($id: ID!, $v: Int) \
         {{ resolveViolation(id: $id, expectedVersion: $v) {{ {RESULT} }} }}"
    )
}

fn schedule_inspection() -> String {
    format!(
        "mutation($input: ScheduleInspectionInput!) \
         {{ scheduleInspection(input: $input) {{ {RESULT} }} }}"
    )
}

fn record_result() -> String {
    format!(
        "mutation($id: ID!, $r: InspectionResult!, $n: String, $v: Int) \
         {{ recordInspectionResult(id: $id, result: $r, notes: $n, expectedVersion: $v) {{ {RESULT} }} }}"
    )
}

fn raise_alert() -> String {
    format!(
        "mutation($input: RaiseComplianceAlertInput!) \
         {{ raiseComplianceAlert(input: $input) {{ {RESULT} }} }}"
    )
}

fn acknowledge() -> String {
    format!("mutation($id: ID!) {{ acknowledgeAlert(id: $id) {{ {RESULT} }} }}")
}

fn building(app: &TestApp, n: usize) -> String {
    app.demo.buildings[n - 1].to_string()
}

fn violation_input(building: &str) -> Value {
    json!({
        "buildingId": building,
        "source": "DOB",
        "code": "DOB-123",
        "description": "Cracked facade on the north side",
        "severity": "HIGH",
        "dueAt": "2030-01-01T00:00:00Z",
        "penaltyCents": 25000,
    })
}

fn alert_input(building: &str) -> Value {
    json!({ "buildingId": building, "severity": "CRITICAL", "message": "Sprinkler pressure low" })
}

/// The `field` result of a mutation that must have succeeded.
fn written<'a>(answer: &'a Answer, field: &str) -> &'a Value {
    &answer.ok()[field]
}

/// The id of the first record of a compliance list, as the administrator sees it.
async fn first_of(app: &TestApp, list: &str) -> (String, i64) {
    let nodes = app
        .query(
            &app.admin(),
            &format!("{{ {list}(first: 1) {{ edges {{ node {{ id version }} }} }} }}"),
        )
        .await
        .nodes(list);
    (
        nodes[0]["id"].as_str().unwrap().to_owned(),
        nodes[0]["version"].as_i64().unwrap(),
    )
}

async fn building_status(app: &TestApp, id: &str) -> Value {
    app.graphql(
        Some(&app.admin()),
        "query($id: ID!) { building(id: $id) { status version } }",
        json!({ "id": id }),
    )
    .await
    .ok()["building"]
        .clone()
}

async fn admin_sets_a_building_status_and_its_version_moves_on(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = building(&app, 1);
    let answer = app
        .graphql(
            Some(&app.admin()),
            &set_status(),
            json!({ "id": id, "s": "CRITICAL", "v": 1 }),
        )
        .await;
    let result = written(&answer, "setBuildingStatus");
    assert_eq!(result["outcome"], "APPLIED");
    assert_eq!(result["entityType"], "BUILDING");
    assert_eq!(result["version"], 2);
    assert_eq!(result["entity"]["status"], "CRITICAL");
    assert_eq!(
        building_status(&app, &id).await,
        json!({ "status": "CRITICAL", "version": 2 })
    );

    // The same status again writes nothing.
    let again = app
        .graphql(
            Some(&app.admin()),
            &set_status(),
            json!({ "id": id, "s": "CRITICAL" }),
        )
        .await;
    assert_eq!(written(&again, "setBuildingStatus")["version"], 2);
}

async fn admin_records_updates_and_resolves_a_violation(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin();
    let created = app
        .graphql(
            Some(&admin),
            &create_violation(),
            json!({ "input": violation_input(&building(&app, 2)) }),
        )
        .await;
    let created = written(&created, "createViolation");
    assert_eq!(created["outcome"], "APPLIED");
    assert_eq!(created["entityType"], "VIOLATION");
    assert_eq!(created["version"], 1);
    assert_eq!(created["entity"]["status"], "OPEN");
    assert_eq!(created["entity"]["penaltyCents"], 25000);
    let id = created["entityId"].as_str().unwrap().to_owned();

    let updated = app
        .graphql(
            Some(&admin),
            &update_violation(),
            json!({ "id": id, "v": 1, "p": { "severity": "CRITICAL", "penaltyCents": null, "status": "IN_PROGRESS" } }),
        )
        .await;
    let updated = written(&updated, "updateViolation");
    assert_eq!(updated["outcome"], "APPLIED");
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["entity"]["severity"], "CRITICAL");
    assert_eq!(updated["entity"]["status"], "IN_PROGRESS");
    assert!(
        updated["entity"]["penaltyCents"].is_null(),
        "null clears it"
    );

    let resolved = app
        .graphql(
            Some(&admin),
            &resolve_violation(),
            json!({ "id": id, "v": 2 }),
        )
        .await;
    let resolved = written(&resolved, "resolveViolation");
    assert_eq!(resolved["outcome"], "APPLIED");
    assert_eq!(resolved["version"], 3);
    assert_eq!(resolved["entity"]["status"], "RESOLVED");
    assert!(resolved["entity"]["resolvedAt"].is_string());

    // A client of the building sees the result through the ordinary read.
    let seen = app
        .query(
            &app.client(2),
            "{ violations(first: 100) { edges { node { id status version } } } }",
        )
        .await
        .nodes("violations");
    assert!(
        seen.contains(&json!({ "id": id, "status": "RESOLVED", "version": 3 })),
        "{seen:?}"
    );
}

async fn violations_with_bad_text_or_a_negative_penalty_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin();
    let b = building(&app, 1);
    let mut cases = Vec::new();
    for (field, value) in [
        ("penaltyCents", json!(-1)),
        ("description", json!("  ")),
        ("source", json!("")),
        ("code", json!("x".repeat(65))),
    ] {
        let mut input = violation_input(&b);
        input[field] = value;
        cases.push((field, input));
    }
    for (field, input) in cases {
        let answer = app
            .graphql(Some(&admin), &create_violation(), json!({ "input": input }))
            .await;
        assert_eq!(answer.error_code(), Some("BAD_USER_INPUT"), "{field}");
    }
    let (id, _) = first_of(&app, "violations").await;
    let negative = app
        .graphql(
            Some(&admin),
            &update_violation(),
            json!({ "id": id, "p": { "penaltyCents": -5 } }),
        )
        .await;
    assert_eq!(negative.error_code(), Some("BAD_USER_INPUT"));
    let long_alert = app
        .graphql(
            Some(&admin),
            &raise_alert(),
            json!({ "input": { "buildingId": b, "severity": "INFO", "message": "x".repeat(2001) } }),
        )
        .await;
    assert_eq!(long_alert.error_code(), Some("BAD_USER_INPUT"));
}

async fn admin_schedules_an_inspection_and_records_its_result(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin();
    let scheduled = app
        .graphql(
            Some(&admin),
            &schedule_inspection(),
            json!({ "input": { "buildingId": building(&app, 3), "kind": "elevator", "scheduledFor": "2030-03-01T09:00:00Z", "inspector": "J. Doe" } }),
        )
        .await;
    let scheduled = written(&scheduled, "scheduleInspection");
    assert_eq!(scheduled["entityType"], "INSPECTION");
    assert_eq!(scheduled["entity"]["result"], "PENDING");
    assert!(scheduled["entity"]["completedAt"].is_null());
    let id = scheduled["entityId"].as_str().unwrap().to_owned();

    let pending = app
        .graphql(
            Some(&admin),
            &record_result(),
            json!({ "id": id, "r": "PENDING" }),
        )
        .await;
    assert_eq!(pending.error_code(), Some("BAD_USER_INPUT"));

    let failed = app
        .graphql(
            Some(&admin),
            &record_result(),
            json!({ "id": id, "r": "FAILED", "n": "Door sensor broken", "v": 1 }),
        )
        .await;
    let failed = written(&failed, "recordInspectionResult");
    assert_eq!(failed["outcome"], "APPLIED");
    assert_eq!(failed["version"], 2);
    assert_eq!(failed["entity"]["result"], "FAILED");
    assert_eq!(failed["entity"]["notes"], "Door sensor broken");
    assert!(failed["entity"]["completedAt"].is_string());
}

async fn clients_acknowledge_alerts_of_their_own_buildings_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin();
    let mut alerts = Vec::new();
    for n in [1, 2] {
        let raised = app
            .graphql(
                Some(&admin),
                &raise_alert(),
                json!({ "input": alert_input(&building(&app, n)) }),
            )
            .await;
        let raised = written(&raised, "raiseComplianceAlert");
        assert_eq!(raised["entityType"], "COMPLIANCE_ALERT");
        assert!(raised["entity"]["acknowledgedAt"].is_null());
        alerts.push(raised["entityId"].as_str().unwrap().to_owned());
    }
    let client1 = app.client(1);

    let acked = app
        .graphql(Some(&client1), &acknowledge(), json!({ "id": alerts[0] }))
        .await;
    let acked = written(&acked, "acknowledgeAlert");
    assert_eq!(acked["outcome"], "APPLIED");
    assert_eq!(acked["version"], 2);
    assert!(acked["entity"]["acknowledgedAt"].is_string());
    assert_eq!(
        acked["entity"]["acknowledgedBy"]["id"],
        app.demo.clients[0].to_string().as_str()
    );

    let twice = app
        .graphql(Some(&admin), &acknowledge(), json!({ "id": alerts[0] }))
        .await;
    assert_eq!(twice.error_code(), Some("BAD_USER_INPUT"));

    let not_linked = app
        .graphql(Some(&client1), &acknowledge(), json!({ "id": alerts[1] }))
        .await;
    assert_eq!(not_linked.error_code(), Some("NOT_FOUND"));

    let worker = app
        .graphql(
            Some(&app.worker(2)),
            &acknowledge(),
            json!({ "id": alerts[1] }),
        )
        .await;
    assert_eq!(worker.error_code(), Some("FORBIDDEN"));

    let admin_acks = app
        .graphql(Some(&admin), &acknowledge(), json!({ "id": alerts[1] }))
        .await;
    assert_eq!(
        written(&admin_acks, "acknowledgeAlert")["entity"]["acknowledgedBy"]["id"],
        app.demo.admin.to_string().as_str()
    );
}

/// Every compliance record and building of the demo organisation, field
/// by field, and the size of its change log: what a refused write must
/// leave as it was.
async fn compliance_state(app: &TestApp) -> (Value, u64) {
    let query = "{ buildings(first: 100) { edges { node { id status version } } } \
        violations(first: 100) { edges { node { id building { id } source code description severity status issuedAt dueAt resolvedAt version } } } \
        inspections(first: 100) { edges { node { id building { id } kind scheduledFor result inspector notes completedAt version } } } \
        complianceAlerts(first: 100) { edges { node { id building { id } severity message acknowledgedBy { id } acknowledgedAt version } } } }";
    let state = app.query(&app.admin(), query).await.ok().clone();
    (state, app.change_count().await)
}

async fn workers_and_clients_may_not_write_compliance_records(backend: Backend) {
    let app = spawn_app(backend).await;
    let before = compliance_state(&app).await;
    let b = building(&app, 1);
    let (violation, _) = first_of(&app, "violations").await;
    let (inspection, _) = first_of(&app, "inspections").await;
    let cases = [
        (set_status(), json!({ "id": b, "s": "ATTENTION" })),
        (create_violation(), json!({ "input": violation_input(&b) })),
        (
            update_violation(),
            json!({ "id": violation, "p": { "description": "mine" } }),
        ),
        (resolve_violation(), json!({ "id": violation })),
        (
            schedule_inspection(),
            json!({ "input": { "buildingId": b, "kind": "boiler", "scheduledFor": "2030-01-01T00:00:00Z" } }),
        ),
        (record_result(), json!({ "id": inspection, "r": "PASSED" })),
        (raise_alert(), json!({ "input": alert_input(&b) })),
    ];
    for token in [app.worker(1), app.client(1)] {
        for (query, variables) in &cases {
            let answer = app.graphql(Some(&token), query, variables.clone()).await;
            assert_eq!(answer.error_code(), Some("FORBIDDEN"), "{query}");
            assert!(answer.data().is_null(), "{query}: {}", answer.body);
        }
    }
    assert_eq!(compliance_state(&app).await, before, "nothing was written");
}

async fn another_organisations_records_are_not_found(backend: Backend) {
    let app = spawn_app(backend).await;
    let before = compliance_state(&app).await;
    let other = app.other_admin();
    let b = building(&app, 1);
    let (violation, _) = first_of(&app, "violations").await;
    let (inspection, _) = first_of(&app, "inspections").await;
    let (alert, _) = first_of(&app, "complianceAlerts").await;
    let cases = [
        (set_status(), json!({ "id": b, "s": "ATTENTION" })),
        (create_violation(), json!({ "input": violation_input(&b) })),
        (
            update_violation(),
            json!({ "id": violation, "p": { "description": "theirs" } }),
        ),
        (resolve_violation(), json!({ "id": violation })),
        (
            schedule_inspection(),
            json!({ "input": { "buildingId": b, "kind": "boiler", "scheduledFor": "2030-01-01T00:00:00Z" } }),
        ),
        (record_result(), json!({ "id": inspection, "r": "PASSED" })),
        (raise_alert(), json!({ "input": alert_input(&b) })),
        (acknowledge(), json!({ "id": alert })),
    ];
    for (query, variables) in &cases {
        let answer = app.graphql(Some(&other), query, variables.clone()).await;
        assert_eq!(answer.error_code(), Some("NOT_FOUND"), "{query}");
    }
    assert_eq!(compliance_state(&app).await, before, "nothing was written");
}

/// A stale `expectedVersion` merges three ways, as for tasks: fields the
/// server left alone take the client's value, fields both changed go by
/// the compliance rules (the more severe status or severity, the later
/// stage) or are a conflict recorded for `resolveSyncConflict`, with the
/// base as it was. REJECT answers CONFLICT without recording;
/// LAST_WRITE_WINS writes as sent.
async fn a_stale_expected_version_merges_three_ways_like_a_task(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin();
    let b = building(&app, 2);
    app.graphql(
        Some(&admin),
        &set_status(),
        json!({ "id": b, "s": "CRITICAL", "v": 1 }),
    )
    .await
    .ok();
    // ATTENTION → CRITICAL online, ATTENTION → OPERATIONAL offline: the
    // warning is not lost to a stale all-clear, and the answer says so.
    let stale = app
        .graphql(
            Some(&admin),
            &set_status(),
            json!({ "id": b, "s": "OPERATIONAL", "v": 1 }),
        )
        .await;
    let stale = written(&stale, "setBuildingStatus");
    assert_eq!(stale["outcome"], "MERGED", "{stale}");
    assert_eq!(stale["mergedFields"], json!(["status"]));
    assert_eq!(stale["overriddenFields"], json!(["status"]));
    assert_eq!(
        building_status(&app, &b).await,
        json!({ "status": "CRITICAL", "version": 2 }),
        "nothing written"
    );
    let future = app
        .graphql(
            Some(&admin),
            &set_status(),
            json!({ "id": b, "s": "OPERATIONAL", "v": 9 }),
        )
        .await;
    assert_eq!(future.error_code(), Some("BAD_USER_INPUT"));

    // A violation whose description someone else changed since version 1.
    let (id, version) = first_of(&app, "violations").await;
    assert_eq!(version, 1);
    let original = app
        .query(
            &admin,
            "{ violations(first: 1) { edges { node { description } } } }",
        )
        .await
        .nodes("violations")[0]["description"]
        .clone();
    app.graphql(
        Some(&admin),
        &update_violation(),
        json!({ "id": id, "v": 1, "p": { "description": "Server side" } }),
    )
    .await
    .ok();
    // Another field merges in...
    let severity = app
        .graphql(
            Some(&admin),
            &update_violation(),
            json!({ "id": id, "v": 1, "p": { "severity": "CRITICAL" } }),
        )
        .await;
    let severity = written(&severity, "updateViolation");
    assert_eq!(severity["outcome"], "MERGED", "{severity}");
    assert_eq!(severity["entity"]["severity"], "CRITICAL");
    assert_eq!(severity["entity"]["description"], "Server side");
    assert_eq!(severity["overriddenFields"], json!([]));
    // ...while two different texts are a conflict: refused under REJECT,
    // recorded under MERGE with the base the client edited.
    let reject = app
        .graphql(
            Some(&admin),
            &update_violation(),
            json!({ "id": id, "v": 1, "p": { "description": "Client side" }, "c": "REJECT" }),
        )
        .await;
    let reject = written(&reject, "updateViolation");
    assert_eq!(reject["outcome"], "CONFLICT");
    assert_eq!(reject["conflict"]["id"], Value::Null);
    let merge = app
        .graphql(
            Some(&admin),
            &update_violation(),
            json!({ "id": id, "v": 1, "p": { "description": "Client side" } }),
        )
        .await;
    let merge = written(&merge, "updateViolation");
    assert_eq!(merge["outcome"], "CONFLICT", "{merge}");
    assert_eq!(
        merge["conflict"]["fields"][0],
        json!({ "field": "description", "base": original, "server": "Server side", "client": "Client side" })
    );
    assert_eq!(merge["entity"]["description"], "Server side");
    let conflict = merge["conflict"]["id"]
        .as_str()
        .expect("recorded")
        .to_owned();

    // Resolving the violation from version 1 merges: nobody else touched
    // its status.
    let resolve = app
        .graphql(
            Some(&admin),
            &resolve_violation(),
            json!({ "id": id, "v": 1 }),
        )
        .await;
    let resolve = written(&resolve, "resolveViolation");
    assert_eq!(resolve["outcome"], "MERGED", "{resolve}");
    assert_eq!(resolve["entity"]["status"], "RESOLVED");

    // The recorded conflict is settled like a task's.
    let take_mine = app
        .graphql(
            Some(&admin),
            "mutation($c: ID!) { resolveSyncConflict(id: $c, resolution: TAKE_MINE) { outcome entity { ... on Violation { description status } } } }",
            json!({ "c": conflict }),
        )
        .await;
    assert_eq!(
        take_mine.ok()["resolveSyncConflict"]["entity"],
        json!({ "description": "Client side", "status": "RESOLVED" })
    );

    let lww = app
        .graphql(
            Some(&admin),
            &update_violation(),
            json!({ "id": id, "v": 1, "p": { "description": "Last word" }, "c": "LAST_WRITE_WINS" }),
        )
        .await;
    let lww = written(&lww, "updateViolation");
    assert_eq!(lww["outcome"], "APPLIED");
    assert_eq!(lww["entity"]["description"], "Last word");

    // Two different results of one inspection: a conflict, kept as the
    // server has it when resolved KEEP_SERVER.
    let inspection = app
        .graphql(
            Some(&admin),
            &schedule_inspection(),
            json!({ "input": { "buildingId": b, "kind": "Boiler", "scheduledFor": "2030-01-01T00:00:00Z" } }),
        )
        .await;
    let inspection = written(&inspection, "scheduleInspection")["entityId"]
        .as_str()
        .unwrap()
        .to_owned();
    app.graphql(
        Some(&admin),
        &record_result(),
        json!({ "id": inspection, "r": "FAILED", "v": 1 }),
    )
    .await
    .ok();
    let stale_result = app
        .graphql(
            Some(&admin),
            &record_result(),
            json!({ "id": inspection, "r": "PASSED", "v": 1 }),
        )
        .await;
    let stale_result = written(&stale_result, "recordInspectionResult");
    assert_eq!(stale_result["outcome"], "CONFLICT");
    assert_eq!(stale_result["entity"]["result"], "FAILED");
    assert_eq!(
        stale_result["conflict"]["fields"][0],
        json!({ "field": "result", "base": "PENDING", "server": "FAILED", "client": "PASSED" })
    );
    let conflict = stale_result["conflict"]["id"].as_str().unwrap().to_owned();
    let keep = app
        .graphql(
            Some(&admin),
            "mutation($c: ID!) { resolveSyncConflict(id: $c, resolution: KEEP_SERVER) { outcome version entity { ... on Inspection { result } } } }",
            json!({ "c": conflict }),
        )
        .await;
    assert_eq!(
        keep.ok()["resolveSyncConflict"]["entity"]["result"],
        "FAILED"
    );
    assert_eq!(
        keep.ok()["resolveSyncConflict"]["version"],
        2,
        "nothing written"
    );
    let open = app
        .query(&admin, "{ syncConflicts(status: OPEN) { id } }")
        .await;
    assert_eq!(open.ok()["syncConflicts"], json!([]), "both settled");
}

async fn compliance_operations_replay_through_sync_push_without_writing_twice(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin();
    let push = "mutation($ops: [SyncOperationInput!]!) { syncPush(operations: $ops) \
                { clientMutationId status error { code } result { entityType entityId version } } }";
    let ops = json!([
        { "clientMutationId": "c-1", "createViolation": violation_input(&building(&app, 1)) },
        { "clientMutationId": "c-2", "raiseComplianceAlert": alert_input(&building(&app, 1)) },
        { "clientMutationId": "c-3", "setBuildingStatus": { "id": building(&app, 1), "status": "ATTENTION" } },
        {
            "clientMutationId": "c-4",
            "acknowledgeAlert": { "id": building(&app, 1) },
            "resolveViolation": { "id": building(&app, 1) },
        },
    ]);
    let site = building(&app, 1);
    let before = records_of(&app, &site).await;
    let first = app
        .graphql(Some(&admin), push, json!({ "ops": ops }))
        .await
        .ok()["syncPush"]
        .clone();
    let statuses: Vec<&str> = first
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["APPLIED", "APPLIED", "APPLIED", "FAILED"]);
    assert_eq!(
        first[3]["error"]["code"], "BAD_USER_INPUT",
        "two operations"
    );
    assert_eq!(first[0]["result"]["entityType"], "VIOLATION");
    assert_eq!(first[1]["result"]["entityType"], "COMPLIANCE_ALERT");
    assert_eq!(first[2]["result"]["version"], 2);

    let after_first = records_of(&app, &site).await;
    assert_eq!(
        (after_first.0, after_first.1),
        (before.0 + 1, before.1 + 1),
        "the first push created one violation and one alert"
    );
    assert_eq!(
        after_first.2,
        before.2 + 3,
        "and three changes (status, violation, alert)"
    );

    let replay = app
        .graphql(Some(&admin), push, json!({ "ops": ops }))
        .await
        .ok()["syncPush"]
        .clone();
    for i in 0..3 {
        assert_eq!(replay[i]["result"], first[i]["result"], "op {i}");
    }
    assert_eq!(
        records_of(&app, &site).await,
        after_first,
        "the replay created and wrote nothing"
    );
}

/// A building's violations and alerts, and the organisation's change-log rows.
async fn records_of(app: &TestApp, site: &str) -> (usize, usize, u64) {
    let admin = app.admin();
    let count = |list: &'static str| {
        let query = format!(
            "query($b: ID!) {{ {list}(first: 100, filter: {{ buildingId: $b }}) {{ edges {{ node {{ id }} }} }} }}"
        );
        let admin = admin.clone();
        async move {
            app.graphql(Some(&admin), &query, json!({ "b": site }))
                .await
                .nodes(list)
                .len()
        }
    };
    let violations = count("violations").await;
    let alerts = count("complianceAlerts").await;
    (violations, alerts, app.change_count().await)
}

crate::on_both_backends!(
    admin_sets_a_building_status_and_its_version_moves_on,
    admin_records_updates_and_resolves_a_violation,
    violations_with_bad_text_or_a_negative_penalty_are_refused,
    admin_schedules_an_inspection_and_records_its_result,
    clients_acknowledge_alerts_of_their_own_buildings_once,
    workers_and_clients_may_not_write_compliance_records,
    another_organisations_records_are_not_found,
    a_stale_expected_version_merges_three_ways_like_a_task,
    compliance_operations_replay_through_sync_push_without_writing_twice,
);

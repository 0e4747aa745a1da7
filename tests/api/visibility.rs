//! The visibility matrix: every query, for each role and for a user of
//! another organisation, returns exactly what that role may see.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use entity::enums::{EntityType, Role};
use entity::{
    building, building_client, compliance_alert, inspection, task, user, violation, worker_status,
};
use fieldsync::auth::Principal;
use fieldsync::domain::visibility::View;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use crate::helpers::{Backend, spawn_app};

const ALL_TASKS: &str =
    "{ tasks(first: 100) { edges { node { id status building { id } assignee { id } } } } }";
const BUILDINGS: &str = "{ buildings { edges { node { id name } } } }";
const USERS: &str = "{ users(first: 100) { edges { node { id role email locationSharing } } } }";

fn ids(nodes: &[Value]) -> BTreeSet<String> {
    nodes
        .iter()
        .map(|n| n["id"].as_str().expect("id").to_owned())
        .collect()
}

fn set<T: ToString>(items: impl IntoIterator<Item = T>) -> BTreeSet<String> {
    items.into_iter().map(|i| i.to_string()).collect()
}

async fn admin_sees_the_whole_organisation_and_nothing_else(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin();
    let buildings = app.query(&token, BUILDINGS).await.nodes("buildings");
    assert_eq!(ids(&buildings), set(&app.demo.buildings));
    let tasks = app.query(&token, ALL_TASKS).await.nodes("tasks");
    assert_eq!(tasks.len(), 30);
    let users = app.query(&token, USERS).await.nodes("users");
    assert_eq!(users.len(), 7, "admin, two clients, four workers");
    assert!(
        users.iter().all(|u| u["email"].is_string()),
        "admins see emails"
    );
    let me = app
        .query(&token, "{ me { role } organization { slug } }")
        .await;
    assert_eq!(me.ok()["me"]["role"], "ADMIN");
    assert_eq!(me.ok()["organization"]["slug"], "demo");
    for list in ["violations", "inspections", "complianceAlerts"] {
        let answer = app
            .query(
                &token,
                &format!("{{ {list} {{ edges {{ node {{ building {{ id }} }} }} }} }}"),
            )
            .await;
        let buildings: BTreeSet<String> = answer
            .nodes(list)
            .iter()
            .map(|n| n["building"]["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            buildings,
            set(&app.demo.buildings),
            "{list} of every building"
        );
    }
}

async fn admin_sees_locations_only_of_workers_who_share_them(backend: Backend) {
    let app = spawn_app(backend).await;
    let answer = app
        .query(
            &app.admin(),
            "{ workerStatuses { worker { id } status location { latitude longitude } } }",
        )
        .await;
    let statuses = answer.ok()["workerStatuses"].as_array().unwrap().clone();
    assert_eq!(statuses.len(), 4);
    for status in statuses {
        let worker = status["worker"]["id"].as_str().unwrap();
        let shares = [0, 2]
            .iter()
            .any(|&i| app.demo.workers[i].to_string() == worker);
        assert_eq!(
            status["location"].is_object(),
            shares,
            "worker {worker}: {status}"
        );
    }
}

async fn worker_sees_own_tasks_and_open_tasks_of_assigned_buildings_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let me = app.demo.workers[0].to_string();
    let building1 = app.demo.buildings[0].to_string();
    let tasks = app.query(&app.worker(1), ALL_TASKS).await.nodes("tasks");
    assert!(!tasks.is_empty());
    let mut own = 0;
    for task in &tasks {
        assert_eq!(
            task["building"]["id"],
            building1.as_str(),
            "only building 1: {task}"
        );
        match task["assignee"]["id"].as_str() {
            Some(assignee) => {
                assert_eq!(assignee, me, "never someone else's task: {task}");
                own += 1;
            }
            None => assert!(
                !["COMPLETED", "CANCELLED"].contains(&task["status"].as_str().unwrap()),
                "unassigned tasks must be open: {task}"
            ),
        }
    }
    assert!(own > 0, "worker1 has assigned tasks in the demo");
    // The admin's full list holds tasks the worker may not see.
    let all = app.query(&app.admin(), ALL_TASKS).await.nodes("tasks");
    let hidden: Vec<&Value> = all
        .iter()
        .filter(|t| !ids(&tasks).contains(t["id"].as_str().unwrap()))
        .collect();
    assert!(!hidden.is_empty());
    for task in hidden {
        let answer = app
            .graphql(
                Some(&app.worker(1)),
                "query($id: ID!) { task(id: $id) { id } }",
                json!({ "id": task["id"] }),
            )
            .await;
        assert_eq!(answer.error_code(), Some("NOT_FOUND"), "{task}");
    }
}

async fn worker_sees_assigned_buildings_coworkers_and_own_presence(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.worker(1);
    let buildings = app.query(&token, BUILDINGS).await.nodes("buildings");
    assert_eq!(ids(&buildings), set([app.demo.buildings[0]]));
    let users = app.query(&token, USERS).await.nodes("users");
    assert_eq!(
        ids(&users),
        set([app.demo.admin, app.demo.workers[0], app.demo.workers[1]]),
        "self, the administrator and the coworker of building 1"
    );
    for user in &users {
        let is_me = user["id"] == app.demo.workers[0].to_string().as_str();
        assert_eq!(user["email"].is_string(), is_me, "{user}");
    }
    let statuses = app
        .query(
            &token,
            "{ workerStatuses { worker { id } location { latitude } } }",
        )
        .await;
    let statuses = statuses.ok()["workerStatuses"].as_array().unwrap().clone();
    assert_eq!(statuses.len(), 1, "only their own status");
    assert!(
        statuses[0]["location"].is_object(),
        "worker1 shares and sees their own location"
    );
    let own = app
        .graphql(
            Some(&token),
            "query($w: ID!) { timeEntries(workerId: $w) { edges { node { id } } } }",
            json!({ "w": app.demo.workers[0].to_string() }),
        )
        .await;
    assert!(!own.nodes("timeEntries").is_empty());
    let coworker = app
        .graphql(
            Some(&token),
            "query($w: ID!) { timeEntries(workerId: $w) { edges { node { id } } } }",
            json!({ "w": app.demo.workers[1].to_string() }),
        )
        .await;
    assert_eq!(coworker.error_code(), Some("FORBIDDEN"));
    let stranger = app
        .graphql(
            Some(&token),
            "query($w: ID!) { timeEntries(workerId: $w) { edges { node { id } } } }",
            json!({ "w": app.demo.workers[3].to_string() }),
        )
        .await;
    assert_eq!(stranger.error_code(), Some("NOT_FOUND"));
    let violations = app
        .query(
            &token,
            "{ violations { edges { node { building { id } } } } }",
        )
        .await;
    for v in violations.nodes("violations") {
        assert_eq!(
            v["building"]["id"],
            app.demo.buildings[0].to_string().as_str()
        );
    }
}

async fn client_sees_linked_buildings_tasks_and_workers_without_locations(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.client(2);
    let linked = set([app.demo.buildings[1], app.demo.buildings[2]]);
    let buildings = app.query(&token, BUILDINGS).await.nodes("buildings");
    assert_eq!(ids(&buildings), linked);
    let tasks = app.query(&token, ALL_TASKS).await.nodes("tasks");
    assert_eq!(tasks.len(), 20, "every task of buildings 2 and 3");
    assert!(
        tasks
            .iter()
            .all(|t| linked.contains(t["building"]["id"].as_str().unwrap()))
    );
    let statuses = app
        .query(&token, "{ workerStatuses { worker { id email locationSharing } status building { id } location { latitude } } }")
        .await;
    let statuses = statuses.ok()["workerStatuses"].as_array().unwrap().clone();
    assert_eq!(
        statuses.len(),
        2,
        "worker2 and worker3 are on site at building 2"
    );
    for status in &statuses {
        assert!(
            status["location"].is_null(),
            "clients never see locations: {status}"
        );
        assert!(status["worker"]["email"].is_null());
        assert!(status["worker"]["locationSharing"].is_null());
    }
    let users = app.query(&token, USERS).await.nodes("users");
    assert_eq!(
        ids(&users),
        set([
            app.demo.admin,
            app.demo.clients[1],
            app.demo.workers[1],
            app.demo.workers[2],
            app.demo.workers[3]
        ]),
        "never the other client"
    );
    let other_client = app
        .graphql(
            Some(&token),
            "query($id: ID!) { user(id: $id) { id } }",
            json!({ "id": app.demo.clients[0].to_string() }),
        )
        .await;
    assert_eq!(other_client.error_code(), Some("NOT_FOUND"));
    let entries = app
        .graphql(
            Some(&token),
            "query($w: ID!) { timeEntries(workerId: $w) { edges { node { id } } } }",
            json!({ "w": app.demo.workers[1].to_string() }),
        )
        .await;
    assert_eq!(entries.error_code(), Some("FORBIDDEN"));
    let metrics = app
        .graphql(
            Some(&token),
            "query($w: ID!) { workerMetrics(workerId: $w, from: \"2020-01-01T00:00:00Z\", to: \"2030-01-01T00:00:00Z\") { tasksCompleted } }",
            json!({ "w": app.demo.workers[1].to_string() }),
        )
        .await;
    assert_eq!(metrics.error_code(), Some("FORBIDDEN"));
}

async fn compliance_lists_follow_each_roles_buildings(backend: Backend) {
    let app = spawn_app(backend).await;
    let cases = [
        (
            app.client(2),
            set([app.demo.buildings[1], app.demo.buildings[2]]),
        ),
        (app.client(1), set([app.demo.buildings[0]])),
        (app.worker(4), set([app.demo.buildings[2]])),
        (app.other_admin(), set(&app.other.buildings)),
    ];
    for (token, expected) in cases {
        for list in ["violations", "inspections", "complianceAlerts"] {
            let answer = app
                .query(
                    &token,
                    &format!(
                        "{{ {list}(first: 100) {{ edges {{ node {{ building {{ id }} }} }} }} }}"
                    ),
                )
                .await;
            let seen: BTreeSet<String> = answer
                .nodes(list)
                .iter()
                .map(|n| n["building"]["id"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(seen, expected, "{list}");
        }
    }
}

async fn client_never_sees_another_client_through_a_task(backend: Backend) {
    let app = spawn_app(backend).await;
    // A task of building 1 was opened by client1. Link client2 to building 1 too.
    building_client::ActiveModel {
        building_id: Set(app.demo.buildings[0]),
        client_id: Set(app.demo.clients[1]),
        org_id: Set(app.demo.org_id),
        created_at: Set(chrono::Utc::now()),
    }
    .insert(&app.state.db)
    .await
    .expect("link");
    let query =
        "{ tasks(first: 100) { edges { node { building { id } createdBy { id role } } } } }";
    let client1 = app.demo.clients[0].to_string();
    let opened_by_client1 = |tasks: &[Value]| {
        tasks
            .iter()
            .filter(|t| t["createdBy"]["id"] == client1.as_str())
            .count()
    };
    assert_eq!(
        opened_by_client1(&app.query(&app.client(1), query).await.nodes("tasks")),
        1
    );
    assert_eq!(
        opened_by_client1(&app.query(&app.admin(), query).await.nodes("tasks")),
        1
    );
    let seen_by_client2 = app.query(&app.client(2), query).await.nodes("tasks");
    let building1 = app.demo.buildings[0].to_string();
    assert_eq!(
        seen_by_client2
            .iter()
            .filter(|t| t["building"]["id"] == building1.as_str())
            .count(),
        10
    );
    assert_eq!(
        opened_by_client1(&seen_by_client2),
        0,
        "client2 sees the task but not who opened it"
    );
    assert!(
        seen_by_client2
            .iter()
            .all(|t| t["createdBy"]["role"] != "CLIENT")
    );
}

/// A user reached through a task (its creator or assignee) is shown only
/// to those whom `users` shows that user: workers never see a client who
/// opened a task, clients never another client.
async fn users_reached_through_tasks_follow_the_users_rule(backend: Backend) {
    let app = spawn_app(backend).await;
    let opened = app
        .graphql(
            Some(&app.client(1)),
            "mutation($b: ID!) { createTask(input: { buildingId: $b, title: \"Leak in the lobby\" }) { entity { ... on Task { id } } } }",
            json!({ "b": app.demo.buildings[0].to_string() }),
        )
        .await;
    let opened = opened.ok()["createTask"]["entity"]["id"].clone();
    let tasks = "{ tasks(first: 100) { edges { node { id createdBy { id } assignee { id } } } } }";
    let users = "{ users(first: 100) { edges { node { id } } } }";
    let viewers = [
        app.admin(),
        app.worker(1),
        app.worker(2),
        app.worker(3),
        app.worker(4),
        app.client(1),
        app.client(2),
    ];
    for (n, token) in viewers.iter().enumerate() {
        let listed: BTreeSet<String> = app
            .query(token, users)
            .await
            .nodes("users")
            .iter()
            .map(|u| u["id"].as_str().unwrap().to_owned())
            .collect();
        for task in app.query(token, tasks).await.nodes("tasks") {
            for field in ["createdBy", "assignee"] {
                if let Some(id) = task[field]["id"].as_str() {
                    assert!(
                        listed.contains(id),
                        "viewer {n} sees {field} {id} of task {} through the task, but `users` hides them",
                        task["id"]
                    );
                }
            }
        }
    }
    let seen_by_worker1 = app
        .graphql(
            Some(&app.worker(1)),
            "query($id: ID!) { task(id: $id) { id createdBy { id } } }",
            json!({ "id": opened }),
        )
        .await;
    assert_eq!(
        seen_by_worker1.ok()["task"]["id"],
        opened,
        "an open task of worker1's building"
    );
    assert!(
        seen_by_worker1.ok()["task"]["createdBy"].is_null(),
        "{:?}",
        seen_by_worker1.body
    );
}

async fn another_organisations_ids_answer_exactly_like_missing_ids(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.other_admin();
    let missing = uuid::Uuid::now_v7().to_string();
    let demo_task = app
        .query(
            &app.admin(),
            "{ tasks(first: 1) { edges { node { id } } } }",
        )
        .await
        .nodes("tasks")[0]["id"]
        .clone();
    let cases = [
        ("building", app.demo.buildings[0].to_string()),
        ("task", demo_task.as_str().unwrap().to_owned()),
        ("user", app.demo.workers[0].to_string()),
    ];
    for (field, foreign) in cases {
        let query = format!("query($id: ID!) {{ {field}(id: $id) {{ id }} }}");
        let foreign_answer = app
            .graphql(Some(&token), &query, json!({ "id": foreign }))
            .await;
        let missing_answer = app
            .graphql(Some(&token), &query, json!({ "id": missing }))
            .await;
        assert_eq!(foreign_answer.error_code(), Some("NOT_FOUND"), "{field}");
        assert_eq!(
            foreign_answer.body["errors"][0]["message"],
            missing_answer.body["errors"][0]["message"]
        );
        assert_eq!(foreign_answer.data(), missing_answer.data());
    }
    let entries = app
        .graphql(
            Some(&token),
            "query($w: ID!) { timeEntries(workerId: $w) { edges { node { id } } } }",
            json!({ "w": app.demo.workers[0].to_string() }),
        )
        .await;
    assert_eq!(entries.error_code(), Some("NOT_FOUND"));
    let statuses = app
        .graphql(
            Some(&token),
            "query($b: ID!) { workerStatuses(buildingId: $b) { status } }",
            json!({ "b": app.demo.buildings[0].to_string() }),
        )
        .await;
    assert_eq!(statuses.error_code(), Some("NOT_FOUND"));
}

async fn lists_of_another_organisation_hold_none_of_ours(backend: Backend) {
    let app = spawn_app(backend).await;
    let ours = app.query(&app.admin(), ALL_TASKS).await.nodes("tasks");
    let theirs = app
        .query(&app.other_admin(), ALL_TASKS)
        .await
        .nodes("tasks");
    assert_eq!(theirs.len(), 30);
    assert!(ids(&ours).is_disjoint(&ids(&theirs)));
    let their_users = app.query(&app.other_admin(), USERS).await.nodes("users");
    assert!(
        their_users
            .iter()
            .all(|u| u["email"].as_str().unwrap().ends_with("@other-org.local"))
    );
    let their_buildings = app
        .query(&app.other_admin(), BUILDINGS)
        .await
        .nodes("buildings");
    assert!(ids(&their_buildings).is_disjoint(&set(&app.demo.buildings)));
    let filtered = app
        .graphql(
            Some(&app.other_admin()),
            "query($b: ID!) { tasks(filter: { buildingId: $b }) { edges { node { id } } } }",
            json!({ "b": app.demo.buildings[0].to_string() }),
        )
        .await;
    assert!(filtered.nodes("tasks").is_empty());
}

async fn tasks_page_through_in_a_stable_order(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin();
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = app
            .graphql(
                Some(&token),
                "query($after: String) { tasks(first: 7, after: $after) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }",
                json!({ "after": after }),
            )
            .await;
        let data = page.ok()["tasks"].clone();
        seen.extend(
            data["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"]["id"].as_str().unwrap().to_owned()),
        );
        if !data["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = data["pageInfo"]["endCursor"].clone();
    }
    let all: Vec<String> = app
        .query(&token, ALL_TASKS)
        .await
        .nodes("tasks")
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        seen, all,
        "pages concatenate to the full list, in order, without repeats"
    );
    let bad_cursor = app
        .query(&token, "{ tasks(after: \"nope\") { edges { cursor } } }")
        .await;
    assert_eq!(bad_cursor.error_code(), Some("BAD_USER_INPUT"));
    let too_many = app
        .query(&token, "{ tasks(first: 1000) { edges { cursor } } }")
        .await;
    assert_eq!(too_many.error_code(), Some("BAD_USER_INPUT"));
}

async fn filters_narrow_tasks_and_compliance(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin();
    let completed = app
        .query(
            &token,
            "{ tasks(filter: { status: [COMPLETED] }) { edges { node { status completedAt } } } }",
        )
        .await;
    let completed = completed.nodes("tasks");
    assert_eq!(completed.len(), 5);
    assert!(
        completed
            .iter()
            .all(|t| t["status"] == "COMPLETED" && t["completedAt"].is_string())
    );
    let open = app
        .query(
            &token,
            "{ violations(filter: { status: [OPEN] }) { edges { node { status } } } }",
        )
        .await;
    assert_eq!(open.nodes("violations").len(), 3);
    let unacknowledged = app.query(&token, "{ complianceAlerts(filter: { acknowledged: false }) { edges { node { acknowledgedAt } } } }").await;
    assert_eq!(unacknowledged.nodes("complianceAlerts").len(), 3);
    let failed = app
        .query(
            &token,
            "{ inspections(filter: { result: FAILED }) { edges { node { result } } } }",
        )
        .await;
    assert_eq!(failed.nodes("inspections").len(), 1);
}

async fn worker_metrics_sum_completed_tasks_and_hours(backend: Backend) {
    let app = spawn_app(backend).await;
    let query = "query($w: ID!) { workerMetrics(workerId: $w, from: \"2020-01-01T00:00:00Z\", to: \"2099-01-01T00:00:00Z\") { worker { id } tasksCompleted averageCompletionSeconds onTimeRate hoursWorked } }";
    let worker = app.demo.workers[2].to_string();
    let own = app
        .graphql(Some(&app.worker(3)), query, json!({ "w": worker }))
        .await;
    let figures = own.ok()["workerMetrics"].clone();
    let completed = app
        .graphql(
            Some(&app.admin()),
            "query($w: ID!) { tasks(filter: { assigneeId: $w, status: [COMPLETED] }) { edges { node { id } } } }",
            json!({ "w": worker }),
        )
        .await
        .nodes("tasks")
        .len();
    assert_eq!(figures["tasksCompleted"], completed as u64);
    assert!(completed > 0);
    assert!(figures["averageCompletionSeconds"].as_f64().unwrap() > 0.0);
    let rate = figures["onTimeRate"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&rate));
    // Five closed eight-hour days plus the open shift of about three hours.
    let hours = figures["hoursWorked"].as_f64().unwrap();
    assert!((42.9..43.5).contains(&hours), "{hours}");
    let backwards = app
        .graphql(
            Some(&app.admin()),
            "query($w: ID!) { workerMetrics(workerId: $w, from: \"2030-01-01T00:00:00Z\", to: \"2020-01-01T00:00:00Z\") { tasksCompleted } }",
            json!({ "w": worker }),
        )
        .await;
    assert_eq!(backwards.error_code(), Some("BAD_USER_INPUT"));
}

async fn anonymous_callers_get_unauthenticated_and_no_data(backend: Backend) {
    let app = spawn_app(backend).await;
    let answer = app.graphql(None, BUILDINGS, json!({})).await;
    assert_eq!(answer.error_code(), Some("UNAUTHENTICATED"));
    assert!(answer.data().is_null());
}

/// The two forms of every visibility rule agree: what each person's list
/// queries read from the database (SQL) is exactly what the change feed's
/// audience filter (`View`, in memory) lets through of the same rows, for
/// every role, over the demo's tasks in every status, open and assigned,
/// workers on site and off, and a deleted task.
async fn the_sql_reads_and_the_feed_filter_agree_for_every_role(backend: Backend) {
    let app = spawn_app(backend).await;
    // The demo's workers are on site: one leaves (a status with no building).
    let left = app
        .query(&app.worker(1), "mutation { clockOut { outcome } }")
        .await;
    assert_eq!(left.ok()["clockOut"]["outcome"], "APPLIED");
    let doomed = app.task_in(0, "PENDING").await;
    let deleted = app
        .graphql(
            Some(&app.admin()),
            "mutation($id: ID!) { deleteTask(id: $id) { outcome } }",
            json!({ "id": doomed }),
        )
        .await;
    assert_eq!(deleted.ok()["deleteTask"]["outcome"], "APPLIED");

    let db = &app.state.db;
    let org = app.demo.org_id;
    let tasks = task::Entity::find()
        .filter(task::Column::OrgId.eq(org))
        .filter(task::Column::DeletedAt.is_null())
        .all(db)
        .await
        .unwrap();
    let buildings = building::Entity::find()
        .filter(building::Column::OrgId.eq(org))
        .all(db)
        .await
        .unwrap();
    let users = user::Entity::find()
        .filter(user::Column::OrgId.eq(org))
        .filter(user::Column::DeletedAt.is_null())
        .all(db)
        .await
        .unwrap();
    let statuses = worker_status::Entity::find()
        .filter(worker_status::Column::OrgId.eq(org))
        .all(db)
        .await
        .unwrap();
    assert!(statuses.len() >= 2, "workers on site");
    let violations = violation::Entity::find()
        .filter(violation::Column::OrgId.eq(org))
        .all(db)
        .await
        .unwrap();
    let inspections = inspection::Entity::find()
        .filter(inspection::Column::OrgId.eq(org))
        .all(db)
        .await
        .unwrap();
    let alerts = compliance_alert::Entity::find()
        .filter(compliance_alert::Column::OrgId.eq(org))
        .all(db)
        .await
        .unwrap();

    let mut people = vec![(app.admin(), app.demo.admin, Role::Admin)];
    for n in 1..=app.demo.workers.len() {
        people.push((app.worker(n), app.demo.workers[n - 1], Role::Worker));
    }
    for n in 1..=app.demo.clients.len() {
        people.push((app.client(n), app.demo.clients[n - 1], Role::Client));
    }
    let mut roles_with_something = BTreeSet::new();
    for (token, user_id, role) in people {
        let principal = Principal {
            user_id,
            org_id: org,
            role,
        };
        let view = View::of(db, &principal).await.expect("a view");
        let seen = |entity_type: EntityType, rows: Vec<(String, Value)>| -> BTreeSet<String> {
            rows.into_iter()
                .filter(|(_, snapshot)| view.sees(snapshot, entity_type))
                .map(|(id, _)| id)
                .collect()
        };
        let who = format!("{role:?} {user_id}");

        let sql = ids(&app.query(&token, ALL_TASKS).await.nodes("tasks"));
        let memory = seen(EntityType::Task, rows(&tasks, |t| t.id.to_string()));
        assert_eq!(sql, memory, "tasks of {who}");
        assert!(!memory.contains(&doomed), "nobody lists a deleted task");
        if !memory.is_empty() {
            roles_with_something.insert(format!("{role:?}"));
        }

        let sql = ids(&app.query(&token, BUILDINGS).await.nodes("buildings"));
        let memory = seen(EntityType::Building, rows(&buildings, |b| b.id.to_string()));
        assert_eq!(sql, memory, "buildings of {who}");

        let sql = ids(&app.query(&token, USERS).await.nodes("users"));
        let memory = seen(EntityType::User, rows(&users, |u| u.id.to_string()));
        assert_eq!(sql, memory, "users of {who}");

        let answer = app
            .query(&token, "{ workerStatuses { worker { id } } }")
            .await;
        let sql: BTreeSet<String> = answer.ok()["workerStatuses"]
            .as_array()
            .expect("statuses")
            .iter()
            .map(|s| s["worker"]["id"].as_str().expect("a worker").to_owned())
            .collect();
        let memory = seen(
            EntityType::WorkerStatus,
            rows(&statuses, |s| s.worker_id.to_string()),
        );
        assert_eq!(sql, memory, "worker statuses of {who}");

        for (list, entity_type, all) in [
            (
                "violations",
                EntityType::Violation,
                rows(&violations, |v| v.id.to_string()),
            ),
            (
                "inspections",
                EntityType::Inspection,
                rows(&inspections, |i| i.id.to_string()),
            ),
            (
                "complianceAlerts",
                EntityType::ComplianceAlert,
                rows(&alerts, |a| a.id.to_string()),
            ),
        ] {
            let query = format!("{{ {list}(first: 100) {{ edges {{ node {{ id }} }} }} }}");
            let sql = ids(&app.query(&token, &query).await.nodes(list));
            assert_eq!(sql, seen(entity_type, all), "{list} of {who}");
        }
    }
    assert_eq!(
        roles_with_something.len(),
        3,
        "every role sees some tasks, so the comparison is not of empty sets"
    );
}

/// Each row with its id and its snapshot as the change log stores it.
fn rows<M: serde::Serialize>(models: &[M], id: impl Fn(&M) -> String) -> Vec<(String, Value)> {
    models
        .iter()
        .map(|m| (id(m), serde_json::to_value(m).expect("a snapshot")))
        .collect()
}

crate::on_both_backends!(
    admin_sees_the_whole_organisation_and_nothing_else,
    admin_sees_locations_only_of_workers_who_share_them,
    worker_sees_own_tasks_and_open_tasks_of_assigned_buildings_only,
    worker_sees_assigned_buildings_coworkers_and_own_presence,
    client_sees_linked_buildings_tasks_and_workers_without_locations,
    client_never_sees_another_client_through_a_task,
    users_reached_through_tasks_follow_the_users_rule,
    compliance_lists_follow_each_roles_buildings,
    another_organisations_ids_answer_exactly_like_missing_ids,
    lists_of_another_organisation_hold_none_of_ours,
    tasks_page_through_in_a_stable_order,
    filters_narrow_tasks_and_compliance,
    worker_metrics_sum_completed_tasks_and_hours,
    anonymous_callers_get_unauthenticated_and_no_data,
    the_sql_reads_and_the_feed_filter_agree_for_every_role,
);

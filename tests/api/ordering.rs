//! Lists in the order screens need: `orderBy` on tasks, violations,
//! inspections, alerts and users, by rank for enums, by time with undated
//! rows last, the id breaking ties; paging through any order with its
//! cursors misses and repeats nothing.

use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, spawn_app};

const PAGE: &str = "query($o: TaskOrderInput, $first: Int, $after: String) { tasks(orderBy: $o, first: $first, after: $after) { pageInfo { hasNextPage endCursor } edges { node { id title priority status dueAt updatedAt } } } }";

async fn page(
    app: &TestApp,
    order: &Value,
    first: i64,
    after: Option<&str>,
) -> (Vec<Value>, Option<String>) {
    let answer = app
        .graphql(
            Some(&app.admin()),
            PAGE,
            json!({ "o": order, "first": first, "after": after }),
        )
        .await;
    let tasks = answer.nodes("tasks");
    let info = &answer.ok()["tasks"]["pageInfo"];
    let next =
        (info["hasNextPage"] == true).then(|| info["endCursor"].as_str().unwrap().to_owned());
    (tasks, next)
}

fn rank(value: &Value, ranked: &[&str]) -> usize {
    ranked.iter().position(|r| value == *r).unwrap()
}

const PRIORITIES: [&str; 4] = ["LOW", "NORMAL", "HIGH", "URGENT"];
const STATUSES: [&str; 6] = [
    "PENDING",
    "ASSIGNED",
    "IN_PROGRESS",
    "BLOCKED",
    "COMPLETED",
    "CANCELLED",
];

/// Whether `tasks` run in `field` order (`descending` or not), undated last
/// and ties by id.
fn in_order(tasks: &[Value], field: &str, descending: bool) -> bool {
    tasks.windows(2).all(|pair| {
        let (a, b) = (&pair[0], &pair[1]);
        let ordering = match field {
            "PRIORITY" => rank(&a["priority"], &PRIORITIES).cmp(&rank(&b["priority"], &PRIORITIES)),
            "STATUS" => rank(&a["status"], &STATUSES).cmp(&rank(&b["status"], &STATUSES)),
            "DUE_AT" => match (a["dueAt"].as_str(), b["dueAt"].as_str()) {
                (Some(x), Some(y)) => x
                    .parse::<chrono::DateTime<chrono::Utc>>()
                    .unwrap()
                    .cmp(&y.parse().unwrap()),
                (Some(_), None) => return true,
                (None, Some(_)) => return false,
                (None, None) => std::cmp::Ordering::Equal,
            },
            _ => unreachable!(),
        };
        let ordering = if descending {
            ordering.reverse()
        } else {
            ordering
        };
        ordering.is_lt() || (ordering.is_eq() && a["id"].as_str() < b["id"].as_str())
    })
}

async fn tasks_page_in_any_order_without_gap_or_repeat(backend: Backend) {
    let app = spawn_app(backend).await;
    // Some tasks with due dates, some without.
    for (n, building) in [(0, 0), (1, 1), (2, 2)] {
        let task = app.task_in(building, "IN_PROGRESS").await;
        app.graphql(
            Some(&app.admin()),
            "mutation($id: ID!, $d: DateTime) { updateTask(id: $id, patch: { dueAt: $d }) { outcome } }",
            json!({ "id": task, "d": format!("2031-0{}-01T00:00:00Z", 3 - n) }),
        )
        .await
        .ok();
    }
    let undated = app.task_in(0, "PENDING").await;
    app.graphql(
        Some(&app.admin()),
        "mutation($id: ID!) { updateTask(id: $id, patch: { dueAt: null }) { outcome } }",
        json!({ "id": undated }),
    )
    .await
    .ok();
    for field in [
        "PRIORITY",
        "STATUS",
        "DUE_AT",
        "UPDATED_AT",
        "TITLE",
        "CREATED_AT",
    ] {
        for direction in ["ASC", "DESC"] {
            let order = json!({ "field": field, "direction": direction });
            let (all, more) = page(&app, &order, 100, None).await;
            assert!(
                more.is_none() && all.len() > 10,
                "{field}: one page holds them all"
            );
            if ["PRIORITY", "STATUS", "DUE_AT"].contains(&field) {
                assert!(
                    in_order(&all, field, direction == "DESC"),
                    "{field} {direction}: {all:?}"
                );
            }
            // Three at a time, through the cursors: the same list.
            let mut walked = Vec::new();
            let mut after = None;
            loop {
                let (tasks, next) = page(&app, &order, 3, after.as_deref()).await;
                walked.extend(tasks);
                match next {
                    Some(cursor) => after = Some(cursor),
                    None => break,
                }
            }
            let ids = |tasks: &[Value]| tasks.iter().map(|t| t["id"].clone()).collect::<Vec<_>>();
            assert_eq!(ids(&walked), ids(&all), "{field} {direction}");
        }
    }
    let undated_last = page(
        &app,
        &json!({ "field": "DUE_AT", "direction": "DESC" }),
        100,
        None,
    )
    .await
    .0;
    assert!(
        undated_last[0]["dueAt"].is_string() && undated_last.last().unwrap()["dueAt"].is_null()
    );

    // A cursor stays valid as tasks change: an urgent task created after
    // the first page does not show up again in the pages after it.
    let urgent_first = json!({ "field": "PRIORITY", "direction": "DESC" });
    let (first, next) = page(&app, &urgent_first, 3, None).await;
    app.graphql(
        Some(&app.admin()),
        "mutation($b: ID!) { createTask(input: { buildingId: $b, title: \"Gas smell\", priority: URGENT }) { outcome } }",
        json!({ "b": app.demo.buildings[0].to_string() }),
    )
    .await
    .ok();
    let (rest, _) = page(&app, &urgent_first, 100, next.as_deref()).await;
    assert!(rest.iter().all(|t| !first.contains(t)), "no repeats");
    // A creation-order cursor is not a cursor of another order.
    let (_, id_cursor) = page(&app, &json!({ "field": "CREATED_AT" }), 1, None).await;
    let bad = app
        .graphql(
            Some(&app.admin()),
            PAGE,
            json!({ "o": urgent_first, "first": 3, "after": id_cursor }),
        )
        .await;
    assert_eq!(bad.error_code(), Some("BAD_USER_INPUT"), "{:?}", bad.body);
}

/// Every ordered list pages through each of its orders two at a time to
/// the same list as one page, enums in rank order.
async fn every_ordered_list_pages_without_gap_or_repeat(backend: Backend) {
    let app = spawn_app(backend).await;
    let lists: [(&str, &str, &str, &[&str]); 4] = [
        (
            "violations",
            "ViolationOrderInput",
            "severity status",
            &[
                "SEVERITY",
                "STATUS",
                "ISSUED_AT",
                "DUE_AT",
                "UPDATED_AT",
                "CREATED_AT",
            ],
        ),
        (
            "inspections",
            "InspectionOrderInput",
            "result",
            &["SCHEDULED_FOR", "RESULT", "UPDATED_AT", "CREATED_AT"],
        ),
        (
            "complianceAlerts",
            "ComplianceAlertOrderInput",
            "severity",
            &["SEVERITY", "UPDATED_AT", "CREATED_AT"],
        ),
        (
            "users",
            "UserOrderInput",
            "name",
            &["NAME", "UPDATED_AT", "CREATED_AT"],
        ),
    ];
    let ranks: [(&str, &str, &[&str]); 4] = [
        (
            "violations",
            "severity",
            &["LOW", "MEDIUM", "HIGH", "CRITICAL"],
        ),
        ("violations", "status", &["OPEN", "RESOLVED", "DISMISSED"]),
        ("inspections", "result", &["PENDING", "PASSED", "FAILED"]),
        (
            "complianceAlerts",
            "severity",
            &["INFO", "WARNING", "CRITICAL"],
        ),
    ];
    for (list, input, fields, orders) in lists {
        let query = format!(
            "query($o: {input}, $first: Int, $after: String) {{ {list}(orderBy: $o, first: $first, after: $after) {{ pageInfo {{ hasNextPage endCursor }} edges {{ node {{ id {fields} }} }} }} }}"
        );
        for field in orders {
            for direction in ["ASC", "DESC"] {
                let order = json!({ "field": field, "direction": direction });
                let read = |first: i64, after: Option<String>| {
                    let (app, query, order) = (&app, &query, &order);
                    async move {
                        let answer = app
                            .graphql(
                                Some(&app.admin()),
                                query,
                                json!({ "o": order, "first": first, "after": after }),
                            )
                            .await;
                        let info = answer.ok()[list]["pageInfo"].clone();
                        let next = (info["hasNextPage"] == true)
                            .then(|| info["endCursor"].as_str().unwrap().to_owned());
                        (answer.nodes(list), next)
                    }
                };
                let (all, _) = read(100, None).await;
                assert!(all.len() >= 2, "{list}: {all:?}");
                let mut walked = Vec::new();
                let mut after = None;
                loop {
                    let (nodes, next) = read(2, after).await;
                    walked.extend(nodes);
                    match next {
                        Some(cursor) => after = Some(cursor),
                        None => break,
                    }
                }
                assert_eq!(walked, all, "{list} by {field} {direction}");
                for (ranked_list, ranked_field, ranked) in ranks {
                    if ranked_list != list || !field.eq_ignore_ascii_case(ranked_field) {
                        continue;
                    }
                    let order: Vec<usize> =
                        all.iter().map(|n| rank(&n[ranked_field], ranked)).collect();
                    let mut sorted = order.clone();
                    sorted.sort();
                    if direction == "DESC" {
                        sorted.reverse();
                    }
                    assert_eq!(order, sorted, "{list} by {field} {direction}");
                }
            }
        }
    }
}

crate::on_both_backends!(
    tasks_page_in_any_order_without_gap_or_repeat,
    every_ordered_list_pages_without_gap_or_repeat,
);

//! The load generator's GraphQL-over-HTTP calls: sign in, look around
//! (buildings, task versions and a starting cursor) and change tasks.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::Url;
use serde_json::{Value, json};

use super::Error;
use super::target::Target;

/// One request may take this long before it counts as failed; a server
/// that slow is itself the finding.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A GraphQL client for the target's `/graphql`. Cheap to clone.
#[derive(Clone)]
pub struct Api {
    client: reqwest::Client,
    url: Url,
}

/// The tasks an administrator sees, as the load starts.
pub struct TaskBaseline {
    /// Version of every live task, by global id.
    pub versions: HashMap<String, i32>,
    /// A change-log cursor from before any subscriber connects: every
    /// subscriber resumes after it, so none misses a change made while the
    /// others were still connecting.
    pub cursor: String,
}

impl Api {
    /// A client for `target`.
    pub fn new(target: &Target) -> Result<Self, Error> {
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .tcp_nodelay(true)
            .build()?;
        Ok(Self {
            client,
            url: target.graphql.clone(),
        })
    }

    /// Runs one operation; its `data`, or the first error's message.
    pub(super) async fn call(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Result<Value, Error> {
        let mut request = self
            .client
            .post(self.url.clone())
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let mut body: Value = request.send().await?.json().await?;
        if let Some(error) = body["errors"].get(0) {
            let code = error["extensions"]["code"].as_str().unwrap_or("?");
            let message = error["message"].as_str().unwrap_or("?");
            return Err(Error::Graphql(format!("{code}: {message}")));
        }
        Ok(body["data"].take())
    }

    /// Signs in; the access token.
    pub async fn login(&self, email: &str, password: &str) -> Result<String, Error> {
        let data = self
            .call(
                None,
                "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }",
                json!({ "e": email, "p": password }),
            )
            .await?;
        data["login"]["accessToken"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| Error::Graphql(format!("login of {email} returned no token")))
    }

    /// Ids of the buildings the holder of `token` may see.
    pub async fn buildings(&self, token: &str) -> Result<Vec<String>, Error> {
        let data = self
            .call(
                Some(token),
                "{ buildings(first: 100) { edges { node { id } } } }",
                json!({}),
            )
            .await?;
        Ok(data["buildings"]["edges"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|edge| edge["node"]["id"].as_str().map(str::to_owned))
            .collect())
    }

    /// Every task's current version and a cursor after them, via `syncPull`.
    pub async fn task_baseline(&self, token: &str) -> Result<TaskBaseline, Error> {
        let mut versions = HashMap::new();
        let mut after: Option<String> = None;
        loop {
            let data = self
                .call(
                    Some(token),
                    "query($after: String) { syncPull(after: $after, entityTypes: [TASK], limit: 500) \
                     { changes { entityId version tombstone } cursor hasMore } }",
                    json!({ "after": after }),
                )
                .await?;
            let page = &data["syncPull"];
            for change in page["changes"].as_array().into_iter().flatten() {
                let Some(id) = change["entityId"].as_str() else {
                    continue;
                };
                if change["tombstone"].as_bool() == Some(true) {
                    versions.remove(id);
                } else if let Some(version) = change["version"].as_i64() {
                    versions.insert(id.to_owned(), version as i32);
                }
            }
            let cursor = page["cursor"]
                .as_str()
                .ok_or_else(|| Error::Graphql("syncPull returned no cursor".into()))?
                .to_owned();
            if page["hasMore"].as_bool() != Some(true) {
                return Ok(TaskBaseline { versions, cursor });
            }
            after = Some(cursor);
        }
    }

    /// Sets a task's description; the task's version after the write.
    pub async fn update_task(
        &self,
        token: &str,
        id: &str,
        description: &str,
    ) -> Result<i32, Error> {
        let data = self
            .call(
                Some(token),
                "mutation($id: ID!, $d: String!) { updateTask(id: $id, patch: { description: $d }) \
                 { outcome version } }",
                json!({ "id": id, "d": description }),
            )
            .await?;
        let result = &data["updateTask"];
        match (result["outcome"].as_str(), result["version"].as_i64()) {
            (Some("APPLIED" | "MERGED"), Some(version)) => Ok(version as i32),
            _ => Err(Error::Graphql(format!("updateTask of {id}: {result}"))),
        }
    }
}

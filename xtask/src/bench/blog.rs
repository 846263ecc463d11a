//! The blog read scenario's data: one blog written, submitted and published through the stack's
//! replicas as the seeded admin, so that the latest list the scenario reads is not empty.

use super::http;
use crate::stack::{ADMIN_EMAIL, ServicesPlan};

/// What the blog read scenario requests.
pub const BLOG_PATH: &str = "/list/latest?page=1&limit=10";

/// Signs in as the seeded admin (all roles) on an auth replica, writes, submits and publishes one
/// blog on a blog replica, so that the latest list has something to return.
pub fn publish_a_blog(plan: &ServicesPlan, admin_password: &str) -> anyhow::Result<()> {
    let [auth, _] = plan.auth_ports;
    let [blog, _] = plan.blog_ports;
    let signed_in = json_call(
        auth,
        "POST",
        "/signin/basic",
        None,
        Some(serde_json::json!({"email": ADMIN_EMAIL, "password": admin_password}).to_string()),
    )?;
    let token = signed_in["data"]["tokens"]["accessToken"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("sign-in returned no access token: {signed_in}"))?
        .to_owned();
    let created = json_call(
        blog,
        "POST",
        "/author/",
        Some(&token),
        Some(
            serde_json::json!({
                "title": "Benchmarking the gateway",
                "description": "What one proxy hop costs, measured side by side with nginx and HAProxy.",
                "draftText": "Numbers, not adjectives. ".repeat(40),
                "slug": "benchmarking-the-gateway",
                "imgUrl": "https://example.com/bench.png",
                "tags": ["BENCH"],
            })
            .to_string(),
        ),
    )?;
    let id = created["data"]["_id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("create returned no _id: {created}"))?
        .to_owned();
    json_call(
        blog,
        "PUT",
        &format!("/author/submit/id/{id}"),
        Some(&token),
        None,
    )?;
    json_call(
        blog,
        "PUT",
        &format!("/editor/publish/id/{id}"),
        Some(&token),
        None,
    )?;
    let latest = json_call(blog, "GET", BLOG_PATH, None, None)?;
    anyhow::ensure!(
        latest["data"]
            .as_array()
            .is_some_and(|list| !list.is_empty()),
        "the published blog is not in the latest list: {latest}"
    );
    println!("published one blog ({id}) for the read scenario");
    Ok(())
}

/// One request to 127.0.0.1:`port` that must answer 200; its JSON body. `token` goes in
/// `Authorization: Bearer`.
fn json_call(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<String>,
) -> anyhow::Result<serde_json::Value> {
    let bearer = token.map(|token| format!("Bearer {token}"));
    let headers: Vec<(&str, &str)> = bearer
        .as_deref()
        .map(|value| vec![("Authorization", value)])
        .unwrap_or_default();
    let response = http::request(port, method, path, &headers, body.as_deref())?;
    anyhow::ensure!(
        response.status == 200,
        "{method} {path} answered {}: {}",
        response.status,
        response.body
    );
    serde_json::from_str::<serde_json::Value>(&response.body)
        .map_err(|err| anyhow::anyhow!("{method} {path}: {err}"))
}

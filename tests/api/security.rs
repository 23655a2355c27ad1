//! What a security reviewer checks from outside: the headers and cookies of every route
//! (docs/architecture.md, "Security headers"), and which links from Partner Center's
//! answers a browser is sent to (docs/partner-center.md, "Links from upstream answers").

use std::path::Path;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use crate::helpers::*;

/// Every route the portal declares, read from its source (`#[get("…")]`, `#[post("…")]`
/// and `.route("…", web::get()…)`), so that a route added later is checked too.
fn declared_routes() -> Vec<(String, String)> {
    let mut found = Vec::new();
    collect_routes(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src/web"), &mut found);
    found.sort();
    found.dedup();
    assert!(found.len() > 15, "the route scan found the routes: {found:?}");
    found
}

fn collect_routes(dir: &Path, found: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).expect("src/web") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            collect_routes(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).expect("source");
            found.extend(text.lines().filter_map(route_of_line));
        }
    }
}

/// `("GET", "/customers/{id}")` for a line that declares a route.
fn route_of_line(line: &str) -> Option<(String, String)> {
    let line = line.trim();
    let quoted = |s: &str| s.split('"').nth(1).map(String::from);
    for (prefix, method) in [("#[get(\"", "GET"), ("#[post(\"", "POST")] {
        if line.starts_with(prefix) {
            return quoted(line).map(|p| (method.to_string(), p));
        }
    }
    if line.starts_with(".route(\"/") {
        let method = if line.contains("web::post()") { "POST" } else { "GET" };
        return quoted(line).map(|p| (method.to_string(), p));
    }
    None
}

/// A declared path with every `{…}` segment filled in with a real customer id.
fn concrete(path: &str, customer_id: &str) -> String {
    path.split('/')
        .map(|seg| if seg.starts_with('{') && seg.ends_with('}') { customer_id } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// The headers every answer carries, whoever asks and whatever the status.
fn assert_common_headers(h: &HeaderMap, what: &str) {
    let csp = header(h, "content-security-policy");
    for part in ["default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'"] {
        assert!(csp.contains(part), "{what}: CSP has {part}: {csp}");
    }
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{what}: {csp}");
    assert_eq!(header(h, "x-content-type-options"), "nosniff", "{what}");
    assert!(!header(h, "referrer-policy").is_empty(), "{what}: Referrer-Policy");
    assert_eq!(header(h, "cross-origin-opener-policy"), "same-origin", "{what}");
    assert!(header(h, "permissions-policy").contains("camera=()"), "{what}: Permissions-Policy");
}

/// Every cookie the portal sets: not readable by scripts, not sent cross-site, whole site.
fn assert_cookies(h: &HeaderMap, https: bool, what: &str) {
    for cookie in h.get_all("set-cookie").iter().map(|v| v.to_str().unwrap_or("")) {
        let lower = cookie.to_ascii_lowercase();
        assert!(lower.contains("; httponly"), "{what}: HttpOnly on {cookie}");
        assert!(lower.contains("samesite=lax") || lower.contains("samesite=strict"), "{what}: {cookie}");
        assert!(lower.contains("path=/"), "{what}: {cookie}");
        assert_eq!(lower.contains("; secure"), https, "{what}: Secure exactly on https: {cookie}");
        if https {
            assert!(cookie.starts_with("__Host-"), "{what}: __Host- prefix on https: {cookie}");
            assert!(!lower.contains("domain="), "{what}: {cookie}");
        }
    }
}

/// Asks every declared route as `browser` and checks each answer's headers.
async fn check_every_route(app: &TestApp, browser: &Browser, signed_in: bool) {
    let id = app.customer_id("Northwind Traders");
    let mut routes = declared_routes();
    // Signing out ends the session the later POSTs take their token from: it goes last.
    routes.sort_by_key(|(_, path)| path == "/logout");
    for (method, declared) in routes {
        let path = concrete(&declared, &id);
        let r = if method == "GET" {
            browser.get(&path).await
        } else {
            let token = if signed_in { browser.token_of("/customers").await } else { String::new() };
            browser.post_form(&path, &[("csrf_token", &token)]).await
        };
        let what = format!("{method} {declared} (signed in: {signed_in}, status {})", r.status());
        let h = r.headers();
        assert_common_headers(h, &what);
        assert_cookies(h, false, &what);
        assert!(h.get("strict-transport-security").is_none(), "{what}: no HSTS on plain http");
        let cache = header(h, "cache-control");
        if declared.starts_with("/static/") || declared.starts_with("/favicon") {
            assert!(cache.starts_with("public"), "{what}: static files may be cached: {cache}");
        } else {
            assert_eq!(cache, "no-store", "{what}: pages are never cached");
        }
    }
}

#[tokio::test]
async fn every_route_sends_the_security_headers_to_strangers_and_agents() {
    let app = spawn_app().await;
    check_every_route(&app, &app.new_browser(), false).await;
    let sales = app.signed_in(SAM_SALES).await;
    check_every_route(&app, &sales, true).await;
    // Unknown addresses and refused requests get the same headers.
    for path in ["/no/such/page", "/customers/not-a-customer-id"] {
        let r = sales.get(path).await;
        assert_common_headers(r.headers(), path);
        assert_eq!(header(r.headers(), "cache-control"), "no-store", "{path}");
    }
}

#[tokio::test]
async fn on_https_every_answer_has_hsts_and_cookies_are_secure_host_cookies() {
    let app = spawn_app_with(Db::Sqlite, |s, _| s.public_url = Some("https://portal.example.net".into()))
        .await
        .expect("SQLite");
    let b = app.new_browser();
    for (method, declared) in declared_routes().into_iter().filter(|(m, _)| m == "GET") {
        let r = b.get(&concrete(&declared, &app.customer_id("Northwind Traders"))).await;
        let what = format!("{method} {declared}");
        let hsts = header(r.headers(), "strict-transport-security");
        assert!(hsts.contains("max-age=31536000"), "{what}: HSTS on https: {hsts:?}");
        assert_common_headers(r.headers(), &what);
    }
    // Starting a sign-in is where an anonymous visitor first gets a cookie.
    let r = b.get("/login").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(r.headers().get("set-cookie").is_some(), "the sign-in start keeps its state in a cookie");
    assert_cookies(r.headers(), true, "GET /login on https");
}

/// The agreement document link as the portal treats it when the sandbox's links start
/// with `link_base`.
async fn document_answer(link_base: &str) -> (StatusCode, String, String) {
    let base = link_base.to_string();
    let app = spawn_app_with(Db::Sqlite, |_, o| o.link_base = Some(base)).await.expect("SQLite");
    let b = app.signed_in(SAM_SALES).await;
    let r = b.get(&format!("/customers/{}/agreement-document", app.customer_id("Northwind Traders"))).await;
    let (status, to) = (r.status(), location(&r));
    (status, to, r.text().await.unwrap_or_default())
}

#[tokio::test]
async fn the_agreement_document_link_is_followed_only_when_it_is_https() {
    let (status, to, _) = document_answer("https://documents.example.net").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(to.starts_with("https://documents.example.net/documents/"), "{to}");
    for refused in
        ["http://documents.example.net", "ftp://documents.example.net", "https://someone@documents.example.net"]
    {
        let (status, to, html) = document_answer(refused).await;
        assert!(!status.is_redirection(), "{refused}: no redirect, got {status} to {to}");
        assert!(to.is_empty(), "{refused}");
        assert!(!html.contains("documents.example.net"), "{refused}: the link is not shown either");
        assert!(html.contains("Partner Center"), "{refused}: the page says where the problem is");
    }
}

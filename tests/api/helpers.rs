//! Shared by every test file, each helper once: the portal on a fresh database with its
//! sandbox, a cookie-keeping browser with a method for each thing a person does, readers of
//! what a page shows, waiting for what happens in the background, the sandbox's sign-in
//! done by hand, and the portal run as a process.

use std::net::TcpListener;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use mca_portal::config::{AttestationMode, DEFAULT_OIDC_CLIENT_ID as SANDBOX_CLIENT_ID, RefreshSettings, Settings};
use mca_portal::domain::{AcceptanceDate, AttestationRequest, Contact, Request, UserTokens};
use mca_portal::sandbox::seed::{self, SeedCustomer};
use mca_portal::sandbox::{CLIENT_SECRET as SANDBOX_CLIENT_SECRET, RecordedRequest, SandboxOptions, SandboxState};
use mca_portal::startup::{Application, Stopper};
use mca_portal::store::{Created, NewSubmission, Store};
use reqwest::StatusCode;
use serde::Serialize;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::OnceCell;

/// The tests' key for sealing stored tokens (so that no key file is written beside them).
pub const TEST_DATA_KEY: &str = "a-data-key-used-only-by-the-tests-0123456789";

/// The sandbox's demo users, by the names its sign-in page shows: Contoso's Sales agent,
/// Admin agent, Helpdesk agent, a user without an agent role and a Global admin, and
/// Fabrikam's (an indirect reseller's) Admin agent.
pub const SAM_SALES: &str = "Sam Sales";
pub const ALEX_ADMIN: &str = "Alex Admin";
pub const HANA_HELPDESK: &str = "Hana Helpdesk";
pub const NICO_NO_ROLE: &str = "Nico Noagent";
pub const GLORIA_GLOBAL: &str = "Gloria Global";
pub const FIONA_FABRIKAM: &str = "Fiona Fabrikam";

/// Which database a test app runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server for tests, from `TEST_DATABASE_URL`. In CI it must be set: a
/// missing database fails the run instead of skipping.
pub fn postgres_url() -> Option<String> {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            assert!(
                std::env::var("CI").is_err(),
                "CI is set but TEST_DATABASE_URL is not: the PostgreSQL suite must run in CI"
            );
            eprintln!("TEST_DATABASE_URL is not set: skipping the PostgreSQL variant of this test");
            None
        }
    }
}

fn replace_database(url: &str, name: &str) -> String {
    let mut u = url::Url::parse(url).expect("TEST_DATABASE_URL is a URL");
    u.set_path(&format!("/{name}"));
    u.to_string()
}

/// A fresh database: a SQLite file in a temporary folder, or a new PostgreSQL database.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

static PG_CLEANED: OnceCell<()> = OnceCell::const_new();

/// A fresh database of the kind asked for; None for PostgreSQL when no server is
/// configured (outside CI).
pub async fn fresh_db(db: Db) -> Option<TestDb> {
    match db {
        Db::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}", dir.path().join("portal.db").display());
            Some(TestDb { url, _dir: Some(dir) })
        }
        Db::Postgres => {
            let base = postgres_url()?;
            use sqlx::Connection;
            let mut conn = sqlx::postgres::PgConnection::connect(&base).await.expect("connect to TEST_DATABASE_URL");
            PG_CLEANED
                .get_or_init(|| async {
                    // Databases left by earlier runs (a failed test does not clean up).
                    let mut c = sqlx::postgres::PgConnection::connect(&base).await.expect("connect");
                    let names: Vec<(String,)> =
                        sqlx::query_as("SELECT datname FROM pg_database WHERE datname LIKE 'mca_test_%'")
                            .fetch_all(&mut c)
                            .await
                            .expect("list databases");
                    for (n,) in names {
                        let _ =
                            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS \"{n}\" WITH (FORCE)")))
                                .execute(&mut c)
                                .await;
                    }
                })
                .await;
            let name = format!("mca_test_{}", uuid::Uuid::new_v4().simple());
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                .execute(&mut conn)
                .await
                .expect("create database");
            Some(TestDb { url: replace_database(&base, &name), _dir: None })
        }
    }
}

/// A running portal with its sandbox, on a fresh database.
pub struct TestApp {
    pub address: String,
    pub sandbox: Arc<SandboxState>,
    pub sandbox_url: String,
    #[allow(dead_code)]
    pub store: Store,
    /// The default browser of this test.
    pub browser: Browser,
    pub _db: TestDb,
    /// Stops this portal as a crash would (its sandbox runs on).
    #[allow(dead_code)]
    pub stopper: Stopper,
}

/// The portal with default settings on SQLite.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(Db::Sqlite, |_, _| {}).await.expect("SQLite is always available")
}

/// Settings of an impatient portal: the agent waits a second for Partner Center, a call
/// times out after a second and is retried once, and delivery looks every 100 ms.
pub fn impatient(s: &mut Settings) {
    s.deliver_wait_seconds = 1;
    s.delivery_poll_ms = 100;
    s.http_timeout_seconds = 1;
    s.http_max_retries = 1;
}

/// Refreshes as fast as the in-process sandbox answers: tests that are about the pace
/// set their own. The first page a partner opens waits up to a minute for its first read
/// (ten seconds in a deployment), as every wait of the tests does: a busy CI machine can
/// take longer than ten seconds for the seed's customers, and the page would then show
/// them before they are stored. Tests of a read that goes on in the background set 0.
pub fn unpaced() -> RefreshSettings {
    RefreshSettings { refresh_rate_limit_per_minute: 600_000, refresh_wait_seconds: 60, ..RefreshSettings::default() }
}

/// Returns None only for PostgreSQL outside CI when `TEST_DATABASE_URL` is unset.
pub async fn spawn_app_with(db: Db, configure: impl FnOnce(&mut Settings, &mut SandboxOptions)) -> Option<TestApp> {
    // Logs only when asked for: TEST_LOG=1 cargo test.
    if std::env::var("TEST_LOG").is_ok() {
        mca_portal::telemetry::init();
    }
    let db = fresh_db(db).await?;
    let mut settings = Settings {
        bind: "127.0.0.1:0".into(),
        sandbox_bind: "127.0.0.1:0".into(),
        database_url: db.url.clone(),
        data_key: Some(secrecy::SecretString::from(TEST_DATA_KEY.to_string())),
        // Most stories record an attestation at once; the enhanced default has its own
        // module (enhanced.rs), which sets it back.
        attestation_mode: AttestationMode::Confirm,
        refresh: unpaced(),
        ..Settings::default()
    };
    let mut options = SandboxOptions::default();
    configure(&mut settings, &mut options);
    let listener = TcpListener::bind(&settings.bind).expect("bind portal");
    let sandbox_listener = TcpListener::bind(&settings.sandbox_bind).expect("bind sandbox");
    let app = Application::build_on(settings, listener, Some(sandbox_listener), options).await.expect("build app");
    // Tests talk to the listener itself, whatever public address the settings name.
    let address = format!("http://127.0.0.1:{}", app.port());
    let sandbox = app.sandbox.as_ref().expect("sandbox runs");
    let sandbox_state = sandbox.state.clone();
    let sandbox_url = sandbox.base_url.clone();
    let store = app.store.clone();
    let stopper = app.stopper();
    tokio::spawn(app.run_until_stopped());
    let browser = Browser::new(&address);
    Some(TestApp { browser, address, sandbox: sandbox_state, sandbox_url, store, _db: db, stopper })
}

impl TestApp {
    /// Another browser, with its own cookies.
    pub fn new_browser(&self) -> Browser {
        Browser::new(&self.address)
    }

    /// A new browser signed in as the named demo user.
    pub async fn signed_in(&self, who: &str) -> Browser {
        let b = self.new_browser();
        let r = b.sign_in_as(who).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "sign-in of {who} ends with a redirect");
        b
    }

    /// A customer id of the seed by company name.
    pub fn customer_id(&self, company: &str) -> String {
        seed_customer(company).id
    }

    /// The POSTs that reached Partner Center's API (`/v1/…`).
    pub fn partner_center_posts(&self) -> Vec<RecordedRequest> {
        self.sandbox
            .requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path_and_query.starts_with("/v1/"))
            .collect()
    }

    /// The attestation calls (POST `…/agreements`) Partner Center received.
    pub fn attestation_posts(&self) -> Vec<RecordedRequest> {
        self.sandbox
            .requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path_and_query.ends_with("/agreements"))
            .collect()
    }

    /// The create-customer calls (POST `/v1/customers`) Partner Center received.
    pub fn customer_creations(&self) -> Vec<RecordedRequest> {
        self.sandbox
            .requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path_and_query == "/v1/customers")
            .collect()
    }

    /// How many attestations Partner Center holds for the customer with this contact email.
    pub fn attestations_by(&self, customer_id: &str, email: &str) -> usize {
        self.sandbox.attestations_of(customer_id).iter().filter(|(e, _, _)| e == email).count()
    }

    /// Asserts that Partner Center holds each of the `total` numbered attestations of `tag`
    /// (see [`NumberedPerson`]) exactly once, on the customer it was recorded for.
    pub fn assert_each_attested_once(&self, customer_ids: &[String], total: usize, tag: &str) {
        for i in 0..total {
            let person = NumberedPerson::new(tag, i);
            let n = self.attestations_by(&customer_ids[i % customer_ids.len()], &person.email);
            assert_eq!(n, 1, "submission {i} reached Partner Center exactly once");
        }
    }

    /// Looks again every 100 ms, for up to a minute, until `check` holds; fails naming `what`.
    pub async fn wait_until(&self, what: &str, check: impl AsyncFnMut() -> bool) {
        wait_until(what, check).await;
    }

    /// A connection of the test's own to the portal's database, for what no person can do
    /// through the portal: time passing for a row, a row tampered with.
    pub async fn database(&self) -> sqlx::AnyPool {
        sqlx::any::install_default_drivers();
        sqlx::AnyPool::connect(&self._db.url).await.expect("connect to the portal's database")
    }

    /// Waits until Contoso's submissions are `total`, every one delivered.
    pub async fn wait_until_delivered(&self, total: usize) {
        wait_for_deliveries(&self.store, seed::CONTOSO_TENANT, total).await;
    }
}

/// Looks again every 100 ms, for up to a minute, until `check` holds; fails naming `what`
/// (for tests without a portal; [`TestApp::wait_until`] is the same).
pub async fn wait_until(what: &str, check: impl AsyncFnMut() -> bool) {
    assert!(holds_within_a_minute(check).await, "timed out waiting until {what}");
}

/// Whether `check` comes to hold within a minute (looking every 100 ms), for a test that
/// says more than [`wait_until`] when it does not.
pub async fn holds_within_a_minute(check: impl AsyncFnMut() -> bool) -> bool {
    poll(Duration::from_secs(60), check, |held| *held).await
}

/// Calls `read` every 100 ms until `done` says its answer will do or `limit` has passed;
/// returns the last answer.
async fn poll<T>(limit: Duration, mut read: impl AsyncFnMut() -> T, done: impl Fn(&T) -> bool) -> T {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let answer = read().await;
        if done(&answer) || tokio::time::Instant::now() >= deadline {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits (up to three minutes, for large batches) until the tenant has exactly `total`
/// submissions, all delivered; asserts so, with the counts seen last.
pub async fn wait_for_deliveries(store: &Store, tenant: &str, total: usize) {
    let expected = vec![("delivered".to_string(), total as i64)];
    let counts = poll(
        Duration::from_secs(180),
        async || store.submission_counts(tenant).await.expect("submission counts"),
        |counts| *counts == expected,
    )
    .await;
    assert_eq!(counts, expected, "every submission settled as delivered");
}

/// The seed customer with this company name.
pub fn seed_customer(company: &str) -> SeedCustomer {
    seed::customers()
        .into_iter()
        .find(|c| c.company_name == company)
        .unwrap_or_else(|| panic!("no seed customer {company}"))
}

/// The ids of Contoso's seed customers, in the seed's order.
pub fn contoso_customer_ids() -> Vec<String> {
    seed::customers().into_iter().filter(|c| c.tenant_id == seed::CONTOSO_TENANT).map(|c| c.id).collect()
}

/// Today's date in UTC, as the forms take it.
pub fn today_utc() -> String {
    chrono::Utc::now().date_naive().to_string()
}

/// Tomorrow's date in UTC: a day no agreement can have been accepted on yet.
pub fn tomorrow_utc() -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(1)).to_string()
}

// ---- Reading pages -------------------------------------------------------------------

/// The text between the first `start` and the next `end`.
pub fn between<'a>(html: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = html.find(start)? + start.len();
    let j = html[i..].find(end)? + i;
    Some(&html[i..j])
}

/// The text a page shows in `<code id="{id}" …>` (the new customer's sign-in details),
/// without the markup inside it.
pub fn code_shown(html: &str, id: &str) -> String {
    let start = html.find(&format!("<code id=\"{id}\"")).unwrap_or_else(|| panic!("the page shows {id}"));
    let inner = between(&html[start..], ">", "</code>").expect("the code element ends");
    text_of(inner)
}

/// Text without its tags.
pub fn text_of(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// `name="…" value="…"` pairs of hidden inputs, in order.
pub fn hidden_inputs(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for part in html.split("<input type=\"hidden\"").skip(1) {
        let name = between(part, "name=\"", "\"");
        let value = between(part, "value=\"", "\"");
        if let (Some(n), Some(v)) = (name, value) {
            out.push((n.to_string(), unescape(v)));
        }
    }
    out
}

/// The hidden fields of the page's form that posts to `action`.
pub fn form_fields(html: &str, action: &str) -> Vec<(String, String)> {
    let form = html
        .split(&format!("action=\"{action}\""))
        .nth(1)
        .unwrap_or_else(|| panic!("the page has a form that posts to {action}"));
    hidden_inputs(form.split("</form>").next().unwrap_or_default())
}

/// Undoes askama's HTML escaping of attribute values.
pub fn unescape(s: &str) -> String {
    s.replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#43;", "+")
        .replace("&#47;", "/")
        .replace("&#61;", "=")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
        .replace("&#38;", "&")
}

/// Text as askama writes it into a page.
pub fn escaped(s: &str) -> String {
    s.replace('&', "&#38;").replace('<', "&#60;").replace('>', "&#62;").replace('"', "&#34;").replace('\'', "&#39;")
}

/// The CSRF token of a page's forms.
pub fn csrf_of(html: &str) -> String {
    hidden_inputs(html)
        .into_iter()
        .find(|(n, _)| n == "csrf_token")
        .map(|(_, v)| v)
        .expect("the page has a form with a CSRF token")
}

/// Every value of the attribute `name` on the page, unescaped, in order.
pub fn attribute_values(html: &str, name: &str) -> Vec<String> {
    let marker = format!(" {name}=\"");
    html.split(&marker).skip(1).filter_map(|rest| rest.split('"').next()).map(unescape).collect()
}

/// The status key (`attested`, `pending`, …) of the one status badge on an account page.
pub fn customer_status(html: &str) -> String {
    let mut statuses = attribute_values(html, "data-status");
    assert_eq!(statuses.len(), 1, "an account page shows one status badge: {statuses:?}");
    statuses.remove(0)
}

/// A row of the customer list as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedCustomer {
    pub id: String,
    pub company: String,
    /// The status key of the row's badge.
    pub status: String,
}

/// The rows of the customer list, in order.
pub fn listed_customers(html: &str) -> Vec<ListedCustomer> {
    html.split("<tr data-customer=\"")
        .skip(1)
        .map(|rest| {
            let row = rest.split("</tr>").next().unwrap_or_default();
            let attribute = |name| attribute_values(row, name).into_iter().next().unwrap_or_default();
            ListedCustomer {
                id: unescape(row.split('"').next().unwrap_or_default()),
                company: attribute("data-company"),
                status: attribute("data-status"),
            }
        })
        .collect()
}

/// The address of the list's pager link with this text ("First page", "Previous",
/// "Next", "Last page"), when the page has it.
pub fn pager_link(html: &str, text: &str) -> Option<String> {
    let nav = between(html, "<nav class=\"pager\"", "</nav>")?;
    nav.split("<a href=\"").skip(1).find_map(|rest| {
        let (href, after) = rest.split_once('"')?;
        let label = after.split("</a>").next()?;
        label.ends_with(&format!(">{text}")).then(|| unescape(href))
    })
}

/// Every page of the customer list from `path` on, following Next.
pub async fn every_page(b: &Browser, path: &str) -> Vec<String> {
    let mut pages = Vec::new();
    let mut next = Some(path.to_string());
    while let Some(path) = next {
        let (status, html) = b.get_html(&path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        next = pager_link(&html, "Next");
        pages.push(html);
        assert!(pages.len() < 100, "the pages end");
    }
    pages
}

/// The company's row of the customer list, as markup.
pub fn row_of(html: &str, company: &str) -> String {
    let marker = format!("data-company=\"{}\"", escaped(company));
    let row = html.split("<tr data-customer=\"").find(|r| r.contains(&marker));
    row.unwrap_or_else(|| panic!("{company} is listed")).split("</tr>").next().unwrap_or_default().to_string()
}

/// The status key of the company's row in the customer list.
pub fn status_of_row(html: &str, company: &str) -> String {
    listed_customers(html)
        .into_iter()
        .find(|c| c.company == company)
        .unwrap_or_else(|| panic!("{company} is listed"))
        .status
}

/// The row of an account page's Partner attestations table for the contact with this email.
pub fn attestation_row<'a>(html: &'a str, email: &str) -> &'a str {
    let row = html.split("<tr>").find(|r| r.contains(email)).unwrap_or_else(|| panic!("an attestation of {email}"));
    row.split("</tr>").next().unwrap_or_default()
}

/// The states (`pending`, `sent`, `failed`) of the portal's own submissions on an account
/// page, newest first.
pub fn submission_states(html: &str) -> Vec<String> {
    attribute_values(html, "data-submission-state")
}

/// Whether an account page lists one of the portal's own submissions in this state.
pub fn shows_submission(html: &str, state: &str) -> bool {
    submission_states(html).iter().any(|s| s == state)
}

/// The `name=value` pair of the session cookie an answer sets, if it sets one (a
/// removal included, whose value is empty).
pub fn session_cookie_set(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("mca-session=") || c.starts_with("__Host-mca-session="))
        .map(|c| c.split(';').next().unwrap_or_default().to_string())
}

/// Where a redirect points.
pub fn location(r: &reqwest::Response) -> String {
    r.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
}

// ---- The browser ---------------------------------------------------------------------

/// A cookie-keeping HTTP client with redirects off, as a person's browser.
pub struct Browser {
    pub client: reqwest::Client,
    pub address: String,
}

impl Browser {
    /// A browser with no cookies yet, for the site at `address`.
    pub fn new(address: &str) -> Browser {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Browser { client, address: address.to_string() }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") { path.to_string() } else { format!("{}{}", self.address, path) }
    }

    /// Opens a path of the site (or a whole URL), following no redirect.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    /// Opens a page; returns its status and HTML.
    pub async fn get_html(&self, path: &str) -> (StatusCode, String) {
        let r = self.get(path).await;
        let s = r.status();
        (s, r.text().await.expect("body"))
    }

    /// A customer's account page, as the browser shows it.
    pub async fn customer_page(&self, customer_id: &str) -> String {
        self.get_html(&format!("/customers/{customer_id}")).await.1
    }

    /// POSTs these fields, as a form made by hand.
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.send_form(path, form).await
    }

    async fn send_form(&self, path: &str, form: &(impl Serialize + ?Sized)) -> reqwest::Response {
        self.client.post(self.url(path)).form(form).send().await.expect("POST")
    }

    /// POSTs a form and returns the page that answers.
    pub async fn post_html(&self, path: &str, form: &(impl Serialize + ?Sized)) -> (StatusCode, String) {
        let r = self.send_form(path, form).await;
        let s = r.status();
        (s, r.text().await.expect("body"))
    }

    /// Presses the button of a page's form that posts to `action` (its hidden fields).
    pub async fn post_page_form(&self, html: &str, action: &str) -> (StatusCode, String) {
        self.post_html(action, &form_fields(html, action)).await
    }

    /// The CSRF token of the forms on `page`, as this browser's session gets it.
    pub async fn token_of(&self, page: &str) -> String {
        csrf_of(&self.get_html(page).await.1)
    }

    /// POSTs a form with the CSRF token of the given page.
    pub async fn post_with_token_of(&self, page: &str, path: &str) -> reqwest::Response {
        let token = self.token_of(page).await;
        self.post_form(path, &[("csrf_token", &token)]).await
    }

    /// Starts a sign-in and returns the sandbox's sign-in page (URL and HTML).
    pub async fn start_sign_in(&self) -> (String, String) {
        self.start_sign_in_at("/login").await
    }

    /// Starts a sign-in at this address of the portal (`/login` with a query, say) and
    /// returns the sandbox's sign-in page (URL and HTML).
    pub async fn start_sign_in_at(&self, login: &str) -> (String, String) {
        let r = self.get(login).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "/login redirects to the identity provider");
        let authorize = location(&r);
        let page = self.client.get(&authorize).send().await.expect("authorize page");
        assert_eq!(page.status(), StatusCode::OK);
        (authorize, page.text().await.expect("body"))
    }

    /// Chooses a user on the sandbox page; returns the redirect back to the portal.
    pub async fn choose_user(&self, authorize_url: &str, html: &str, who: &str) -> String {
        let button = html
            .split("<button type=\"submit\" name=\"user\" value=\"")
            .skip(1)
            .find(|b| b.split('>').nth(1).is_some_and(|label| label.starts_with(who)))
            .unwrap_or_else(|| panic!("the sign-in page offers {who}"));
        let oid = button.split('"').next().expect("oid").to_string();
        let mut form = hidden_inputs(html);
        form.push(("user".into(), oid));
        let action = {
            let u = url::Url::parse(authorize_url).expect("url");
            format!(
                "{}://{}/idp/v2.0/authorize",
                u.scheme(),
                u.host_str().zip(u.port()).map(|(h, p)| format!("{h}:{p}")).expect("host")
            )
        };
        let r = self.client.post(action).form(&form).send().await.expect("choose user");
        assert_eq!(r.status(), StatusCode::FOUND, "the sandbox redirects back");
        location(&r)
    }

    /// The whole sign-in; returns the portal's answer to the callback.
    pub async fn sign_in_as(&self, who: &str) -> reqwest::Response {
        self.sign_in_from("/login", who).await
    }

    /// The whole sign-in, started at this address of the portal; returns the portal's
    /// answer to the callback.
    pub async fn sign_in_from(&self, login: &str, who: &str) -> reqwest::Response {
        let (authorize, html) = self.start_sign_in_at(login).await;
        let callback = self.choose_user(&authorize, &html, who).await;
        self.client.get(&callback).send().await.expect("callback")
    }
}

// ---- Edit agreement ------------------------------------------------------------------

/// The Edit agreement form's fields.
pub struct AgreementInput<'a> {
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub email: &'a str,
    pub phone: &'a str,
    pub date_agreed: &'a str,
}

/// Tania Carr, the contact most stories record, with this email and acceptance date.
pub fn tania<'a>(email: &'a str, date: &'a str) -> AgreementInput<'a> {
    AgreementInput { first_name: "Tania", last_name: "Carr", email, phone: "+1 425 555 0199", date_agreed: date }
}

/// The `i`-th made-up contact of a batch tagged `tag`: "Tag Person i", reached at
/// `tag.i@contoso-tag.example`.
pub struct NumberedPerson {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
}

impl NumberedPerson {
    /// The `i`-th person of the batch `tag`.
    pub fn new(tag: &str, i: usize) -> NumberedPerson {
        let mut first_name = tag.to_string();
        first_name[..1].make_ascii_uppercase();
        NumberedPerson {
            first_name,
            last_name: format!("Person {i}"),
            email: format!("{tag}.{i}@contoso-{tag}.example"),
        }
    }

    /// This person as the Edit agreement form takes them, without a phone number.
    pub fn agreement<'a>(&'a self, date: &'a str) -> AgreementInput<'a> {
        AgreementInput {
            first_name: &self.first_name,
            last_name: &self.last_name,
            email: &self.email,
            phone: "",
            date_agreed: date,
        }
    }
}

impl Browser {
    /// Opens Edit agreement and returns the form's hidden fields (CSRF token and key).
    pub async fn open_edit_agreement(&self, customer_id: &str) -> (StatusCode, String, Vec<(String, String)>) {
        let (status, html) = self.get_html(&format!("/customers/{customer_id}/agreement/edit")).await;
        let hidden = if status == StatusCode::OK { hidden_inputs(&html) } else { Vec::new() };
        (status, html, hidden)
    }

    /// Posts Edit agreement with the given hidden fields (so a test can post one form twice).
    pub async fn post_agreement(
        &self,
        customer_id: &str,
        hidden: &[(String, String)],
        input: &AgreementInput<'_>,
    ) -> reqwest::Response {
        let mut form: Vec<(&str, &str)> = hidden.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        form.extend([
            ("first_name", input.first_name),
            ("last_name", input.last_name),
            ("email", input.email),
            ("phone", input.phone),
            ("date_agreed", input.date_agreed),
        ]);
        self.post_form(&format!("/customers/{customer_id}/agreement"), &form).await
    }

    /// The whole Edit agreement flow: open the form, fill it in, Save and continue.
    pub async fn edit_agreement(&self, customer_id: &str, input: &AgreementInput<'_>) -> reqwest::Response {
        let (status, _, hidden) = self.open_edit_agreement(customer_id).await;
        assert_eq!(status, StatusCode::OK, "Edit agreement opens");
        self.post_agreement(customer_id, &hidden, input).await
    }

    /// Records `total` attestations, of the numbered people of `tag` in turn, on the given
    /// customers in turn; each is stored (Save and continue redirects).
    pub async fn record_numbered_attestations(&self, customer_ids: &[String], total: usize, tag: &str, date: &str) {
        for i in 0..total {
            let person = NumberedPerson::new(tag, i);
            let r = self.edit_agreement(&customer_ids[i % customer_ids.len()], &person.agreement(date)).await;
            assert_eq!(r.status(), StatusCode::SEE_OTHER, "submission {i} is stored");
        }
    }
}

// ---- Add customer --------------------------------------------------------------------

/// What a person types into Add customer, field by field.
#[derive(Debug, Clone)]
pub struct CustomerFields(Vec<(&'static str, String)>);

impl CustomerFields {
    /// Exactly these fields, in this order.
    pub fn new(fields: &[(&'static str, &str)]) -> CustomerFields {
        CustomerFields(fields.iter().map(|(k, v)| (*k, v.to_string())).collect())
    }

    /// Tailwind Traders & Co in Redmond, with Tania Carr as primary contact, under this
    /// domain prefix, with this agreement choice and acceptance date.
    pub fn tailwind(prefix: &str, agreement: &str, date: &str) -> CustomerFields {
        CustomerFields::new(&[
            ("company_name", "Tailwind Traders & Co"),
            ("domain_prefix", prefix),
            ("first_name", "Tania"),
            ("last_name", "Carr"),
            ("email", "tania@tailwind.example"),
            ("phone", "+1 425 555 0100"),
            ("country", "US"),
            ("address_line1", "1 Main Street"),
            ("address_line2", ""),
            ("city", "Redmond"),
            ("state", "WA"),
            ("postal_code", "98052"),
            ("culture", "en-US"),
            ("registration_number", ""),
            ("agreement", agreement),
            ("date_agreed", date),
        ])
    }

    /// The same with `name` set to `value` (added when it was not there).
    pub fn set(mut self, name: &'static str, value: &str) -> CustomerFields {
        match self.0.iter_mut().find(|(k, _)| *k == name) {
            Some((_, v)) => *v = value.to_string(),
            None => self.0.push((name, value.to_string())),
        }
        self
    }

    /// The same without the field `name` (a box left unticked is not sent).
    pub fn without(mut self, name: &str) -> CustomerFields {
        self.0.retain(|(k, _)| *k != name);
        self
    }

    /// The fields as a form sends them.
    pub fn pairs(&self) -> Vec<(&str, &str)> {
        self.0.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }
}

impl Browser {
    /// Opens Add customer, fills in the fields and chooses Next: Review; returns the answer.
    pub async fn review_new_customer(&self, fields: &CustomerFields) -> (StatusCode, String) {
        let (status, html) = self.get_html("/customers/new").await;
        assert_eq!(status, StatusCode::OK, "Add customer opens");
        let mut form = form_fields(&html, "/customers/new/review");
        form.extend(fields.pairs().into_iter().map(|(k, v)| (k.to_string(), v.to_string())));
        self.post_html("/customers/new/review", &form).await
    }

    /// Chooses Submit on the Review page; returns the answer.
    pub async fn submit_new_customer(&self, review: &str) -> (StatusCode, String) {
        self.post_page_form(review, "/customers/new/submit").await
    }

    /// The whole Add customer flow: fill in, Next: Review, Submit; returns the page that
    /// confirms it.
    pub async fn add_customer(&self, fields: &CustomerFields) -> String {
        let (status, review) = self.review_new_customer(fields).await;
        assert!(status == StatusCode::OK && review.contains("<h1>Review</h1>"), "{review}");
        let (status, done) = self.submit_new_customer(&review).await;
        assert_eq!(status, StatusCode::OK, "{done}");
        done
    }
}

// ---- The sandbox's sign-in, by hand --------------------------------------------------

/// The PKCE code verifier of the sign-ins the tests make by hand.
pub const PKCE_VERIFIER: &str = "a-verifier-that-is-long-enough-for-pkce-0123456789";
const REDIRECT_URI: &str = "http://127.0.0.1:1/cb";

/// Signs `who` in at the sandbox's identity provider as the portal's client would
/// (authorization code flow with PKCE); returns the code.
pub async fn authorization_code(sandbox_url: &str, who: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let challenge =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(PKCE_VERIFIER.as_bytes()));
    let authorize = format!(
        "{sandbox_url}/idp/v2.0/authorize?client_id={SANDBOX_CLIENT_ID}&redirect_uri=http%3A%2F%2F127.0.0.1%3A1%2Fcb&response_type=code&scope=openid%20offline_access%20https%3A%2F%2Fapi.partnercenter.microsoft.com%2Fuser_impersonation&state=s&nonce=n&code_challenge={challenge}&code_challenge_method=S256"
    );
    let b = Browser::new(sandbox_url);
    let html = b.client.get(&authorize).send().await.expect("authorize page").text().await.expect("body");
    let back = b.choose_user(&authorize, &html, who).await;
    let back = url::Url::parse(&back).expect("redirect URL");
    back.query_pairs().find(|(k, _)| k == "code").expect("a code").1.into_owned()
}

/// The form that exchanges an authorization code, with this code verifier.
pub fn code_grant<'a>(code: &'a str, verifier: &'a str) -> [(&'static str, &'a str); 4] {
    [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", REDIRECT_URI), ("code_verifier", verifier)]
}

/// POSTs to the sandbox's token endpoint as the portal's client, with this secret.
pub async fn token_request(sandbox_url: &str, form: &[(&str, &str)], secret: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{sandbox_url}/idp/v2.0/token"))
        .basic_auth(SANDBOX_CLIENT_ID, Some(secret))
        .form(form)
        .send()
        .await
        .expect("token request")
}

/// `who`'s tokens (access, ID and refresh token) by the whole flow.
pub async fn user_tokens(sandbox_url: &str, who: &str) -> serde_json::Value {
    let code = authorization_code(sandbox_url, who).await;
    let r = token_request(sandbox_url, &code_grant(&code, PKCE_VERIFIER), SANDBOX_CLIENT_SECRET).await;
    assert_eq!(r.status(), StatusCode::OK, "the code is exchanged for tokens");
    r.json().await.expect("tokens")
}

// ---- More instances and a filled queue -----------------------------------------------

/// Settings of another portal on `app`'s database and sandbox, configured as a deployment
/// with a real identity provider is (issuer, secret and role groups named).
pub fn another_instance_settings(app: &TestApp) -> Settings {
    let groups = seed::role_groups();
    Settings {
        bind: "127.0.0.1:0".into(),
        database_url: app._db.url.clone(),
        oidc_issuer: Some(format!("{}/idp/v2.0", app.sandbox_url)),
        oidc_client_secret: Some(secrecy::SecretString::from(SANDBOX_CLIENT_SECRET.to_string())),
        partner_center_url: Some(app.sandbox_url.clone()),
        admin_agent_groups: groups.admin,
        sales_agent_groups: groups.sales,
        helpdesk_agent_groups: groups.helpdesk,
        global_admin_groups: groups.global_admin,
        data_key: Some(secrecy::SecretString::from(TEST_DATA_KEY.to_string())),
        // As spawn_app_with: the instances it runs beside attest at once.
        attestation_mode: AttestationMode::Confirm,
        refresh: unpaced(),
        ..Settings::default()
    }
}

/// Starts a portal with these settings and no sandbox of its own; returns its address.
pub async fn start_instance(settings: Settings) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind another instance");
    let portal = Application::build_on(settings, listener, None, SandboxOptions::default()).await.expect("build");
    let address = format!("http://127.0.0.1:{}", portal.port());
    tokio::spawn(portal.run_until_stopped());
    address
}

/// Puts an attestation of `contact` (dated 2025-03-03) for `customer_id` straight into
/// Contoso's queue, with these tokens; returns the submission's id.
pub async fn queue_attestation(
    store: &Store,
    key: &str,
    customer_id: &str,
    contact: Contact,
    tokens: &UserTokens,
) -> String {
    let today = chrono::Utc::now().date_naive();
    let date = AcceptanceDate::parse("2025-03-03", today).expect("a past date");
    let request = Request::Attest(AttestationRequest { contact, date });
    let created = store
        .submission_create(&NewSubmission {
            tenant_id: seed::CONTOSO_TENANT,
            idempotency_key: key,
            customer_id: Some(customer_id),
            request: &request,
            created_by_oid: "tester",
            created_by_name: "Tester",
            tokens,
            tokens_kept_until: chrono::Utc::now() + chrono::Duration::hours(12),
        })
        .await
        .expect("stored");
    match created {
        Created::New(s) | Created::Existing(s) => s.id,
    }
}

// ---- The portal as a process ---------------------------------------------------------

/// The portal's binary run in `dir`, with none of this process's `MCA_` settings, quiet
/// logs, its output piped, and killed when dropped.
pub fn portal_command(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mca-portal"));
    c.current_dir(dir).env("RUST_LOG", "warn").kill_on_drop(true).stdout(Stdio::piped());
    for (k, _) in std::env::vars() {
        if k.starts_with("MCA_") {
            c.env_remove(k);
        }
    }
    c
}

/// `mca-portal serve` in `dir`, the portal and its built-in sandbox on free ports.
pub fn serve_on_free_ports(dir: &Path) -> Command {
    let mut c = portal_command(dir);
    c.env("MCA_BIND", "127.0.0.1:0").env("MCA_SANDBOX_BIND", "127.0.0.1:0");
    c
}

/// Reads a child's output line by line (a minute at most for each) until `last` says a
/// line is the last one wanted; returns them all. The rest is read in the background,
/// so that the child never blocks on a full pipe.
pub async fn lines_until(child: &mut Child, mut last: impl FnMut(&str) -> bool) -> Vec<String> {
    let mut lines = BufReader::new(child.stdout.take().expect("the child's output is piped")).lines();
    let mut read = Vec::new();
    loop {
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("output in time")
            .expect("output")
            .expect("a line");
        let done = last(&line);
        read.push(line);
        if done {
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            return read;
        }
    }
}

/// Waits for a line of the child's output that starts with `prefix`; returns the rest.
pub async fn line_starting(child: &mut Child, prefix: &str) -> String {
    let lines = lines_until(child, |l| l.starts_with(prefix)).await;
    lines.last().and_then(|l| l.strip_prefix(prefix)).unwrap_or_default().to_string()
}

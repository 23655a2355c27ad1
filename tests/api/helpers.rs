//! `spawn_app()` and a cookie-keeping client with one helper per screen.

use std::net::TcpListener;
use std::sync::Arc;

use mca_portal::config::Settings;
use mca_portal::sandbox::{SandboxOptions, SandboxState};
use mca_portal::startup::Application;
use mca_portal::store::Store;
use reqwest::StatusCode;
use tokio::sync::OnceCell;

/// The tests' key for sealing stored tokens (so that no key file is written beside them).
pub const TEST_DATA_KEY: &str = "a-data-key-used-only-by-the-tests-0123456789";

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

pub struct TestApp {
    pub address: String,
    pub sandbox: Arc<SandboxState>,
    pub sandbox_url: String,
    #[allow(dead_code)]
    pub store: Store,
    /// The default browser of this test.
    pub browser: Browser,
    pub _db: TestDb,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Db::Sqlite, |_, _| {}).await.expect("SQLite is always available")
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
    tokio::spawn(app.run_until_stopped());
    Some(TestApp { browser: Browser::new(&address), address, sandbox: sandbox_state, sandbox_url, store, _db: db })
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
        mca_portal::sandbox::seed::customers()
            .into_iter()
            .find(|c| c.company_name == company)
            .unwrap_or_else(|| panic!("no seed customer {company}"))
            .id
    }
}

/// A cookie-keeping HTTP client with redirects off, as a person's browser.
pub struct Browser {
    pub client: reqwest::Client,
    pub address: String,
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

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = s.find(start)? + start.len();
    let j = s[i..].find(end)? + i;
    Some(&s[i..j])
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

/// The status key of the company's row in the customer list.
pub fn status_of_row(html: &str, company: &str) -> String {
    listed_customers(html)
        .into_iter()
        .find(|c| c.company == company)
        .unwrap_or_else(|| panic!("{company} is listed"))
        .status
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

pub fn location(r: &reqwest::Response) -> String {
    r.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
}

impl Browser {
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

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn get_html(&self, path: &str) -> (StatusCode, String) {
        let r = self.get(path).await;
        let s = r.status();
        (s, r.text().await.expect("body"))
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client.post(self.url(path)).form(form).send().await.expect("POST")
    }

    /// POSTs a form with the CSRF token of the given page.
    pub async fn post_with_token_of(&self, page: &str, path: &str) -> reqwest::Response {
        let (_, html) = self.get_html(page).await;
        let token = csrf_of(&html);
        self.post_form(path, &[("csrf_token", &token)]).await
    }

    /// Starts a sign-in and returns the sandbox's sign-in page (URL and HTML).
    pub async fn start_sign_in(&self) -> (String, String) {
        let r = self.get("/login").await;
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
        let (authorize, html) = self.start_sign_in().await;
        let callback = self.choose_user(&authorize, &html, who).await;
        self.client.get(&callback).send().await.expect("callback")
    }
}

/// The Edit agreement form's fields.
pub struct AgreementInput<'a> {
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub email: &'a str,
    pub phone: &'a str,
    pub date_agreed: &'a str,
}

pub fn today_utc() -> String {
    chrono::Utc::now().date_naive().to_string()
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
}

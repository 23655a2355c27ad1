//! A portal process killed in the middle of delivery and started again loses nothing and
//! sends nothing twice. Real processes: the sandbox runs alone (`mca-portal sandbox`), the
//! portal (`mca-portal serve`) talks to it as to Microsoft, and is killed with SIGKILL.

use std::process::Stdio;
use std::time::Duration;

use mca_portal::config::DEFAULT_OIDC_CLIENT_ID as SANDBOX_CLIENT_ID;
use mca_portal::sandbox::CLIENT_SECRET as SANDBOX_CLIENT_SECRET;
use mca_portal::sandbox::seed;
use mca_portal::store::Store;
use reqwest::StatusCode;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::helpers::*;

const BIN: &str = env!("CARGO_BIN_EXE_mca-portal");

fn command() -> Command {
    let mut c = Command::new(BIN);
    c.env("RUST_LOG", "warn").kill_on_drop(true).stdout(Stdio::piped());
    for (k, _) in std::env::vars() {
        if k.starts_with("MCA_") {
            c.env_remove(k);
        }
    }
    c
}

/// Waits for a line of the child's output that starts with `prefix`; returns the rest.
async fn line_starting(child: &mut Child, prefix: &str) -> String {
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    loop {
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("output in time")
            .unwrap()
            .expect("a line");
        if let Some(rest) = line.strip_prefix(prefix) {
            // Keep reading in the background so that the child never blocks on a full pipe.
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            return rest.to_string();
        }
    }
}

async fn start_portal(dir: &std::path::Path, sandbox: &str) -> (Child, String) {
    let mut child = command()
        .current_dir(dir)
        .env("MCA_BIND", "127.0.0.1:0")
        .env("MCA_DATABASE_URL", "sqlite://portal.db")
        .env("MCA_OIDC_ISSUER", format!("{sandbox}/idp/v2.0"))
        .env("MCA_OIDC_CLIENT_SECRET", SANDBOX_CLIENT_SECRET)
        .env("MCA_PARTNER_CENTER_URL", sandbox)
        // A real identity provider needs the role mapping: the sandbox's Sales agents group.
        .env("MCA_SALES_AGENT_GROUPS", format!("[{}]", seed::CONTOSO_GROUPS.sales))
        .env("MCA_DELIVER_WAIT_SECONDS", "0")
        .env("MCA_DELIVERY_LEASE_SECONDS", "3")
        .env("MCA_DELIVERY_POLL_MS", "200")
        .spawn()
        .expect("start the portal");
    let address = line_starting(&mut child, "Open ").await.trim_end_matches(" in your browser.").to_string();
    (child, address)
}

/// Sam's delegated token, by the authorization code flow against the sandbox.
async fn sams_token(sandbox: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let verifier = "a-verifier-that-is-long-enough-for-pkce-0123456789";
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    let authorize = format!(
        "{sandbox}/idp/v2.0/authorize?client_id={SANDBOX_CLIENT_ID}&redirect_uri=http%3A%2F%2F127.0.0.1%3A1%2Fcb&response_type=code&scope=openid%20https%3A%2F%2Fapi.partnercenter.microsoft.com%2Fuser_impersonation&state=s&nonce=n&code_challenge={challenge}&code_challenge_method=S256"
    );
    let b = Browser::new(sandbox);
    let html = b.client.get(&authorize).send().await.unwrap().text().await.unwrap();
    let back = b.choose_user(&authorize, &html, SAM_SALES).await;
    let code = url::Url::parse(&back).unwrap().query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
    let t: serde_json::Value = reqwest::Client::new()
        .post(format!("{sandbox}/idp/v2.0/token"))
        .basic_auth(SANDBOX_CLIENT_ID, Some(SANDBOX_CLIENT_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:1/cb"),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    t["access_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_killed_portal_loses_nothing_and_sends_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut sandbox_process = command()
        .args(["sandbox", "--bind", &format!("127.0.0.1:{port}")])
        .env("MCA_SANDBOX_LATENCY_MS", "400")
        .spawn()
        .expect("start the sandbox");
    let sandbox = line_starting(&mut sandbox_process, "Sandbox running at ").await;

    let (mut portal, address) = start_portal(dir.path(), &sandbox).await;
    let b = Browser::new(&address);
    assert_eq!(location(&b.sign_in_as(SAM_SALES).await), "/customers");
    let ids: Vec<String> =
        seed::customers().into_iter().filter(|c| c.tenant_id == seed::CONTOSO_TENANT).map(|c| c.id).take(10).collect();
    let total = 20;
    for i in 0..total {
        let id = &ids[i % ids.len()];
        let email = format!("restart.{i}@contoso-restart.example");
        let r = b
            .edit_agreement(
                id,
                &AgreementInput {
                    first_name: "Restart",
                    last_name: &format!("Person {i}"),
                    email: &email,
                    phone: "",
                    date_agreed: "2025-02-02",
                },
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "submission {i} is stored");
    }
    // Killed while deliveries are under way (every call takes 400 ms).
    portal.start_kill().unwrap();
    portal.wait().await.unwrap();
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("portal.db").display())).await.unwrap();
    let counts = store.submission_counts(seed::CONTOSO_TENANT).await.unwrap();
    assert_eq!(
        counts.iter().map(|(_, n)| n).sum::<i64>(),
        total as i64,
        "every submission was stored before it was sent"
    );
    assert!(
        counts.iter().any(|(s, _)| s == "queued"),
        "some were still on their way when the process died: {counts:?}"
    );

    let (_portal2, _address2) = start_portal(dir.path(), &sandbox).await;
    let mut counts = Vec::new();
    for _ in 0..300 {
        counts = store.submission_counts(seed::CONTOSO_TENANT).await.unwrap();
        if counts == vec![("delivered".to_string(), total as i64)] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(counts, vec![("delivered".to_string(), total as i64)], "the restarted portal delivered the rest");
    let token = sams_token(&sandbox).await;
    for (n, id) in ids.iter().enumerate() {
        let list: serde_json::Value = reqwest::Client::new()
            .get(format!("{sandbox}/v1/customers/{id}/agreements?agreementType=MicrosoftCustomerAgreement"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for i in (n..total).step_by(ids.len()) {
            let email = format!("restart.{i}@contoso-restart.example");
            let found = list["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|a| a["primaryContact"]["email"] == email.as_str())
                .count();
            assert_eq!(found, 1, "submission {i} is in Partner Center exactly once");
        }
    }
    store.close().await;
}

#[tokio::test]
async fn the_temporary_password_is_in_no_table_and_no_log_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut portal = command()
        .current_dir(dir.path())
        .env("RUST_LOG", "trace")
        .env("MCA_BIND", "127.0.0.1:0")
        .env("MCA_SANDBOX_BIND", "127.0.0.1:0")
        .env("MCA_DATABASE_URL", "sqlite://portal.db")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = portal.stderr.take().unwrap();
    let logs = tokio::spawn(async move {
        let mut all = String::new();
        let _ = tokio::io::AsyncReadExt::read_to_string(&mut stderr, &mut all).await;
        all
    });
    let address = line_starting(&mut portal, "Open ").await.trim_end_matches(" in your browser.").to_string();
    let b = Browser::new(&address);
    assert_eq!(location(&b.sign_in_as(SAM_SALES).await), "/customers");
    let (_, form) = b.get_html("/customers/new").await;
    let mut fields: Vec<(String, String)> =
        hidden_inputs(&form).into_iter().filter(|(k, _)| k == "csrf_token" || k == "idempotency_key").collect();
    for (k, v) in [
        ("company_name", "Secret Keeping Ltd"),
        ("domain_prefix", "secretkeeping"),
        ("first_name", "Ada"),
        ("last_name", "Lovelace"),
        ("email", "ada@secret.example"),
        ("country", "US"),
        ("address_line1", "1 Main Street"),
        ("city", "Redmond"),
        ("state", "WA"),
        ("postal_code", "98052"),
        ("culture", "en-US"),
        ("agreement", "admin_center"),
    ] {
        fields.push((k.into(), v.into()));
    }
    let review = b
        .client
        .post(format!("{address}/customers/new/review"))
        .form(&fields)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let submit = review.split("action=\"/customers/new/submit\"").nth(1).expect("the review page");
    let done = b
        .client
        .post(format!("{address}/customers/new/submit"))
        .form(&hidden_inputs(submit))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let password =
        done.split("<code id=\"temporary-password\">").nth(1).unwrap().split("</code>").next().unwrap().to_string();
    assert!(password.len() >= 8);
    // Every later page, the process's whole log, and every byte of the database.
    let (_, list) = b.get_html("/customers?q=secret").await;
    assert!(!list.contains(&password));
    portal.start_kill().unwrap();
    portal.wait().await.unwrap();
    let logs = logs.await.unwrap();
    assert!(logs.len() > 1000, "the log was captured ({} bytes)", logs.len());
    assert!(
        logs.contains("create_customer") || logs.contains("/customers/new/submit"),
        "the log covers the submission"
    );
    assert!(!logs.contains(&password), "the temporary password is in no log line");
    for file in std::fs::read_dir(dir.path()).unwrap() {
        let path = file.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !bytes.windows(password.len()).any(|w| w == password.as_bytes()),
            "the temporary password is not in {}",
            path.display()
        );
    }
}

#[tokio::test]
async fn two_instances_sharing_one_postgres_deliver_each_submission_once() {
    use mca_portal::config::Settings;
    use mca_portal::domain::{AcceptanceDate, AttestationRequest, Contact, Request};
    use mca_portal::sandbox::SandboxOptions;
    use mca_portal::startup::Application;
    use mca_portal::store::NewSubmission;

    let Some(a) = spawn_app_with(Db::Postgres, |s, sandbox| {
        s.delivery_poll_ms = 50;
        s.delivery_lease_seconds = 30;
        sandbox.faults = mca_portal::sandbox::Faults { latency_ms: 50, ..Default::default() };
    })
    .await
    else {
        return;
    };
    // A second instance on the same database, talking to the same Partner Center.
    let b_settings = Settings {
        bind: "127.0.0.1:0".into(),
        database_url: a._db.url.clone(),
        oidc_issuer: Some(format!("{}/idp/v2.0", a.sandbox_url)),
        oidc_client_secret: Some(secrecy::SecretString::from(SANDBOX_CLIENT_SECRET.to_string())),
        partner_center_url: Some(a.sandbox_url.clone()),
        delivery_poll_ms: 50,
        delivery_lease_seconds: 30,
        data_key: Some(secrecy::SecretString::from(TEST_DATA_KEY.to_string())),
        ..Settings::default()
    };
    let b = Application::build_on(
        b_settings,
        std::net::TcpListener::bind("127.0.0.1:0").unwrap(),
        None,
        SandboxOptions::default(),
    )
    .await
    .unwrap();
    tokio::spawn(b.run_until_stopped());

    let token = sams_token(&a.sandbox_url).await;
    let tokens = mca_portal::identity::UserTokens {
        access_token: token,
        refresh_token: None,
        expires_at: chrono::Utc::now().timestamp() + 3600,
    };
    let ids: Vec<String> =
        seed::customers().into_iter().filter(|c| c.tenant_id == seed::CONTOSO_TENANT).map(|c| c.id).collect();
    let total = 40;
    for i in 0..total {
        let today = chrono::Utc::now().date_naive();
        let request = Request::Attest(AttestationRequest {
            contact: Contact::parse(
                "Shared",
                &format!("Person {i}"),
                &format!("shared.{i}@contoso-shared.example"),
                "",
            )
            .unwrap(),
            date: AcceptanceDate::parse("2025-03-03", today).unwrap(),
        });
        a.store
            .submission_create(&NewSubmission {
                tenant_id: seed::CONTOSO_TENANT,
                idempotency_key: &format!("shared-{i}"),
                customer_id: Some(&ids[i % ids.len()]),
                request: &request,
                created_by_oid: "tester",
                created_by_name: "Tester",
                tokens: &tokens,
            })
            .await
            .unwrap();
    }
    let mut counts = Vec::new();
    for _ in 0..300 {
        counts = a.store.submission_counts(seed::CONTOSO_TENANT).await.unwrap();
        if counts == vec![("delivered".to_string(), total as i64)] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(counts, vec![("delivered".to_string(), total as i64)]);
    for i in 0..total {
        let email = format!("shared.{i}@contoso-shared.example");
        let n = a.sandbox.attestations_of(&ids[i % ids.len()]).iter().filter(|(e, _, _)| *e == email).count();
        assert_eq!(n, 1, "submission {i} delivered once");
    }
    let posts =
        a.sandbox.requests().iter().filter(|r| r.method == "POST" && r.path_and_query.ends_with("/agreements")).count();
    assert_eq!(posts, total, "no submission was sent by both instances");
}

#[tokio::test]
async fn stored_tokens_are_sealed() {
    let dir = tempfile::tempdir().unwrap();
    let mut portal = command()
        .current_dir(dir.path())
        .env("MCA_BIND", "127.0.0.1:0")
        .env("MCA_SANDBOX_BIND", "127.0.0.1:0")
        .env("MCA_SANDBOX_LATENCY_MS", "3000")
        .env("MCA_DELIVER_WAIT_SECONDS", "0")
        .spawn()
        .unwrap();
    let address = line_starting(&mut portal, "Open ").await.trim_end_matches(" in your browser.").to_string();
    let b = Browser::new(&address);
    assert_eq!(location(&b.sign_in_as(SAM_SALES).await), "/customers");
    let id = seed::customers().into_iter().find(|c| c.company_name == "Fourth Coffee").unwrap().id;
    let r = b
        .edit_agreement(
            &id,
            &AgreementInput {
                first_name: "Seal",
                last_name: "Test",
                email: "seal@test.example",
                phone: "",
                date_agreed: "2025-01-01",
            },
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // A session with its tokens and a queued submission with its tokens are stored now.
    let key = std::fs::read_to_string(dir.path().join("mca-portal.key")).expect("a key file is made on first start");
    assert!(key.trim().len() >= 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("mca-portal.key")).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "only the owner may read the key file");
    }
    for name in ["mca-portal.db", "mca-portal.db-wal"] {
        if let Ok(bytes) = std::fs::read(dir.path().join(name)) {
            // The sandbox's tokens start with the base64 of '{"alg":"RS256"'. (Three letters
            // such as "eyJ" also turn up by chance in sealed, random-looking text.)
            assert!(!bytes.windows(12).any(|w| w == b"eyJhbGciOiJS"), "no token in plain text in {name}");
        }
    }
    portal.start_kill().unwrap();
    portal.wait().await.unwrap();
}

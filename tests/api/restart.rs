//! A portal process killed in the middle of delivery and started again loses nothing and
//! sends nothing twice. Real processes: the sandbox runs alone (`mca-portal sandbox`), the
//! portal (`mca-portal serve`) talks to it as to Microsoft, and is killed with SIGKILL.

use std::process::Stdio;

use mca_portal::config::Settings;
use mca_portal::domain::{Contact, UserTokens};
use mca_portal::sandbox::CLIENT_SECRET as SANDBOX_CLIENT_SECRET;
use mca_portal::sandbox::seed;
use mca_portal::store::Store;
use reqwest::StatusCode;
use tokio::process::Child;

use crate::helpers::*;

/// The address a started portal prints ("Open … in your browser.").
async fn address_of(portal: &mut Child) -> String {
    line_starting(portal, "Open ").await.trim_end_matches(" in your browser.").to_string()
}

/// A portal in `dir` that talks to the sandbox process as to Microsoft, in confirm mode,
/// delivering every 200 ms with leases of 3 s; returns it and its address.
async fn start_portal(dir: &std::path::Path, sandbox: &str) -> (Child, String) {
    let mut child = portal_command(dir)
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
        // Each submission is delivered at once, not after a customer's acceptance.
        .env("MCA_ATTESTATION_MODE", "confirm")
        .spawn()
        .expect("start the portal");
    let address = address_of(&mut child).await;
    (child, address)
}

#[tokio::test]
async fn a_killed_portal_loses_nothing_and_sends_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut sandbox_process = portal_command(dir.path())
        .args(["sandbox", "--bind", &format!("127.0.0.1:{port}")])
        .env("MCA_SANDBOX_LATENCY_MS", "400")
        .spawn()
        .expect("start the sandbox");
    let sandbox = line_starting(&mut sandbox_process, "Sandbox running at ").await;

    let (mut portal, address) = start_portal(dir.path(), &sandbox).await;
    let b = Browser::new(&address);
    assert_eq!(location(&b.sign_in_as(SAM_SALES).await), "/customers");
    let ids = &contoso_customer_ids()[..10];
    let total = 20;
    b.record_numbered_attestations(ids, total, "restart", "2025-02-02").await;
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
    wait_for_deliveries(&store, seed::CONTOSO_TENANT, total).await;
    let token = user_tokens(&sandbox, SAM_SALES).await["access_token"].as_str().unwrap().to_string();
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
            let email = NumberedPerson::new("restart", i).email;
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
    let mut portal = serve_on_free_ports(dir.path())
        .env("RUST_LOG", "trace")
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
    let address = address_of(&mut portal).await;
    let b = Browser::new(&address);
    assert_eq!(location(&b.sign_in_as(SAM_SALES).await), "/customers");
    let done = b
        .add_customer(&CustomerFields::new(&[
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
        ]))
        .await;
    let password = code_shown(&done, "temporary-password");
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
    start_instance(Settings { delivery_poll_ms: 50, delivery_lease_seconds: 30, ..another_instance_settings(&a) })
        .await;
    let token = user_tokens(&a.sandbox_url, SAM_SALES).await["access_token"].as_str().unwrap().to_string();
    let tokens =
        UserTokens { access_token: token, refresh_token: None, expires_at: chrono::Utc::now().timestamp() + 3600 };
    let ids = contoso_customer_ids();
    let total = 40;
    for i in 0..total {
        let email = format!("shared.{i}@contoso-shared.example");
        let person = Contact::parse("Shared", &format!("Person {i}"), &email, "").unwrap();
        queue_attestation(&a.store, &format!("shared-{i}"), &ids[i % ids.len()], person, &tokens).await;
    }
    a.wait_until_delivered(total).await;
    a.assert_each_attested_once(&ids, total, "shared");
    assert_eq!(a.attestation_posts().len(), total, "no submission was sent by both instances");
}

#[tokio::test]
async fn stored_tokens_are_sealed() {
    let dir = tempfile::tempdir().unwrap();
    let mut portal = serve_on_free_ports(dir.path())
        .env("MCA_SANDBOX_LATENCY_MS", "3000")
        .env("MCA_DELIVER_WAIT_SECONDS", "0")
        // The first read takes a while at this latency: Fourth Coffee must be read before
        // its Edit agreement opens.
        .env("MCA_REFRESH_WAIT_SECONDS", "40")
        .spawn()
        .unwrap();
    let address = address_of(&mut portal).await;
    let b = Browser::new(&address);
    assert_eq!(location(&b.sign_in_as(SAM_SALES).await), "/customers");
    let r = b.edit_agreement(&seed_customer("Fourth Coffee").id, &tania("seal@test.example", "2025-01-01")).await;
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

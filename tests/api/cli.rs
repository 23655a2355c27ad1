//! The command line: help, settings in layers with unknown keys reported, migrate, and
//! the start banner of serve.

use crate::helpers::{lines_until, portal_command, serve_on_free_ports};

#[tokio::test]
async fn help_names_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = portal_command(dir.path()).arg("--help").output().await.unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for c in ["serve", "sandbox", "migrate", "rotate-key", "seed", "--config"] {
        assert!(text.contains(c), "{c} in --help");
    }
    for sub in ["serve", "sandbox", "migrate", "rotate-key", "seed"] {
        let out = portal_command(dir.path()).args([sub, "--help"]).output().await.unwrap();
        assert!(out.status.success(), "{sub} --help");
    }
}

#[tokio::test]
async fn migrate_reads_file_then_environment_and_reports_unknown_keys() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mca-portal.toml"),
        "database_url = \"sqlite://from-file.db\"\ndatabse_url = \"typo\"\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("secret.txt"), "super-secret-value\n").unwrap();
    let out = portal_command(dir.path())
        .arg("migrate")
        .env("MCA_DATABASE_URL", "sqlite://from-env.db")
        .env("MCA_OIDC_CLIENT_SECRET_FILE", dir.path().join("secret.txt"))
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("Migrations applied."));
    assert!(stdout.contains("SQLite file from-env.db"), "the environment wins over the file: {stdout}");
    assert!(dir.path().join("from-env.db").exists());
    assert!(!dir.path().join("from-file.db").exists());
    assert!(stderr.contains("unknown setting \"databse_url\""), "{stderr}");
    assert!(!stdout.contains("super-secret-value") && !stderr.contains("super-secret-value"));
    // Twice is fine.
    let again = portal_command(dir.path())
        .arg("migrate")
        .env("MCA_DATABASE_URL", "sqlite://from-env.db")
        .output()
        .await
        .unwrap();
    assert!(again.status.success());
}

#[tokio::test]
async fn an_impossible_configuration_is_refused_with_what_to_set() {
    let dir = tempfile::tempdir().unwrap();
    let out = portal_command(dir.path())
        .arg("migrate")
        .env("MCA_OIDC_ISSUER", "https://login.example/v2.0")
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("partner_center_url"), "{stderr}");
    let missing = portal_command(dir.path()).args(["--config", "nope.toml", "migrate"]).output().await.unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope.toml"));
}

#[tokio::test]
async fn serve_prints_address_database_and_upstream() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = serve_on_free_ports(dir.path()).spawn().unwrap();
    let mut read = 0;
    let banner = lines_until(&mut child, |_| {
        read += 1;
        read == 3
    })
    .await;
    assert!(banner[0].starts_with("Open http://127.0.0.1:"), "{banner:?}");
    assert!(banner[1].contains("SQLite file mca-portal.db"), "{banner:?}");
    assert!(banner[2].contains("built-in sandbox"), "{banner:?}");
    let address = banner[0].trim_start_matches("Open ").trim_end_matches(" in your browser.").to_string();
    let health = reqwest::get(format!("{address}/readyz")).await.unwrap();
    assert_eq!(health.status(), reqwest::StatusCode::OK);
    child.kill().await.unwrap();
}

#[tokio::test]
async fn the_sandbox_runs_alone_and_says_how_to_use_it() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child =
        portal_command(dir.path()).args(["sandbox", "--bind", &format!("127.0.0.1:{port}")]).spawn().unwrap();
    let text = lines_until(&mut child, |line| line.contains("Client id")).await.join("\n");
    assert!(text.contains(&format!("http://127.0.0.1:{port}/idp/v2.0")), "{text}");
    let discovery =
        reqwest::get(format!("http://127.0.0.1:{port}/idp/v2.0/.well-known/openid-configuration")).await.unwrap();
    assert_eq!(discovery.status(), reqwest::StatusCode::OK);
    child.kill().await.unwrap();
}

/// `mca-portal serve` (or `migrate`) against a real identity provider and Partner Center,
/// with a client secret but no role mapping of its own.
fn with_a_real_provider(dir: &std::path::Path, command: &str) -> tokio::process::Command {
    let mut c = serve_on_free_ports(dir);
    c.arg(command)
        .env("MCA_OIDC_ISSUER", "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000001/v2.0")
        .env("MCA_PARTNER_CENTER_URL", "https://api.partnercenter.microsoft.com")
        .env("MCA_OIDC_CLIENT_SECRET", "a-secret-only-for-this-test");
    c
}

#[tokio::test]
async fn a_real_identity_provider_needs_its_role_mapping_set_before_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = with_a_real_provider(dir.path(), "serve").output().await.unwrap();
    assert!(!out.status.success(), "start-up is refused");
    let stderr = String::from_utf8_lossy(&out.stderr);
    for key in ["admin_agent_groups", "sales_agent_groups", "helpdesk_agent_groups", "roles_from"] {
        assert!(stderr.contains(key), "the sentence names {key}: {stderr}");
    }
    let out = with_a_real_provider(dir.path(), "serve").env("MCA_ROLES_FROM", "app_roles").output().await.unwrap();
    assert!(!out.status.success(), "app roles are not mapped by default either");
    let stderr = String::from_utf8_lossy(&out.stderr);
    for key in ["admin_agent_app_roles", "sales_agent_app_roles", "helpdesk_agent_app_roles"] {
        assert!(stderr.contains(key), "the sentence names {key}: {stderr}");
    }
    let out = with_a_real_provider(dir.path(), "migrate")
        .env("MCA_SALES_AGENT_GROUPS", "[\"3f2c0f4e-0000-4000-8000-000000000042\"]")
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "mapped: {}", String::from_utf8_lossy(&out.stderr));
}

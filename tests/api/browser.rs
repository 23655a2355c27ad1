//! One walk in headless Chromium (Debian's chromium, driven by playwright-core) with an
//! axe-core check of every page. Needs `chromium` and `npm ci --prefix tests/browser`;
//! in CI (`CI` set) a missing prerequisite fails instead of skipping.

use std::path::{Path, PathBuf};

use crate::helpers::spawn_app;

pub(crate) fn prerequisites() -> Result<(PathBuf, PathBuf), String> {
    let chromium = PathBuf::from(std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()));
    if !chromium.exists() {
        return Err(format!("{} not found (apt-get install chromium)", chromium.display()));
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    if !dir.join("node_modules/playwright-core").exists() || !dir.join("node_modules/axe-core").exists() {
        return Err("tests/browser/node_modules is missing (npm ci --prefix tests/browser)".into());
    }
    if std::process::Command::new("node").arg("--version").output().is_err() {
        return Err("node is not installed".into());
    }
    Ok((chromium, dir))
}

#[tokio::test]
async fn a_person_signs_in_and_opens_a_customer_in_chromium() {
    let (chromium, dir) = match prerequisites() {
        Ok(p) => p,
        Err(why) if std::env::var("CI").is_ok() => panic!("the browser test is required in CI: {why}"),
        Err(why) => {
            eprintln!("skipping the browser test: {why}");
            return;
        }
    };
    let app = spawn_app().await;
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    let out = tokio::process::Command::new("node")
        .arg(dir.join("walk.mjs"))
        .arg(&app.address)
        .arg(&shots)
        .env("CHROMIUM", &chromium)
        .output()
        .await
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "browser walk failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("browser walk passed"));
    for page in ["new relationship", "invitation", "invitations", "invitations at 390px", "invitation to accept"] {
        assert!(stdout.contains(&format!("axe {page}: 0 violations")), "{page} was checked with axe:\n{stdout}");
    }
    for shot in ["sign-in.png", "customers.png", "customer.png", "add-customer-done-phone.png", "invitation.png"] {
        let meta = std::fs::metadata(shots.join(shot)).unwrap_or_else(|_| panic!("{shot} saved"));
        assert!(meta.len() > 10_000, "{shot} is a real screenshot");
    }
}

/// Runs one of `tests/browser`'s walks (`script`) against `app` in headless Chromium and
/// returns what it printed, once it passed; None when the browser is missing outside CI
/// (in CI a missing prerequisite fails the test).
pub(crate) async fn run_walk(app: &crate::helpers::TestApp, script: &str, name: &str) -> Option<String> {
    let (chromium, dir) = match prerequisites() {
        Ok(p) => p,
        Err(why) if std::env::var("CI").is_ok() => panic!("the browser test is required in CI: {why}"),
        Err(why) => {
            eprintln!("skipping the {name} browser test: {why}");
            return None;
        }
    };
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    let out = tokio::process::Command::new("node")
        .arg(dir.join(script))
        .arg(&app.address)
        .arg(&shots)
        .env("CHROMIUM", &chromium)
        .output()
        .await
        .expect("run node");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{name} walk failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains(&format!("{name} walk passed")));
    Some(stdout.into_owned())
}

//! After sign-in the browser goes back to where it came from, but only ever to a page of
//! the portal: known open-redirect tricks, sent as `/login?return_to=…`, with the final
//! `Location` resolved the way a browser resolves it.

use reqwest::StatusCode;

use crate::helpers::*;

/// Return addresses that have led browsers off-site through one check or another: scheme-
/// relative, backslashes (read as slashes), tabs and line breaks (dropped), encoded
/// slashes, dot segments, schemes without slashes, look-alike Unicode and control bytes.
const BYPASSES: &[&str] = &[
    "//evil.example",
    "///evil.example",
    "////evil.example/",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "/\\/evil.example",
    "/\t/evil.example",
    "/\t\\evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/%09/evil.example",
    "/%0a/evil.example",
    "/%0d%0a/evil.example",
    "/%2f%2fevil.example",
    "/%2F%2Fevil.example",
    "/%5cevil.example",
    "/%5C%5Cevil.example",
    "/%252f%252fevil.example",
    "/.//evil.example",
    "/./\\evil.example",
    "/..//evil.example",
    "/x/..//evil.example",
    "https:evil.example",
    "https://evil.example",
    "http:/\\evil.example",
    "javascript:alert(1)",
    "evil.example",
    "/ /evil",
    " //evil.example",
    "\t//evil.example",
    "/\u{3000}/evil.example",
    "/\u{ff0f}evil.example",
    "/\u{2215}evil.example",
    "\u{2028}//evil.example",
    "/\u{0}/evil.example",
    "/@evil.example",
    "//@evil.example",
    "/login?return_to=//evil.example",
];

/// Where a browser goes with this `Location` from `base`: it drops tabs and line breaks
/// first, then resolves the rest as a URL reference (reading `\` as `/`).
fn browser_target(base: &str, location: &str) -> url::Url {
    let cleaned: String = location.chars().filter(|c| !matches!(c, '\t' | '\r' | '\n')).collect();
    url::Url::parse(base).expect("base").join(&cleaned).expect("a browser can follow it")
}

fn login_with_return_to(return_to: &str) -> String {
    format!("/login?return_to={}", url::form_urlencoded::byte_serialize(return_to.as_bytes()).collect::<String>())
}

#[tokio::test]
async fn no_return_address_leads_off_the_portal_after_sign_in() {
    let app = spawn_app().await;
    let portal = url::Url::parse(&app.address).unwrap();
    for bypass in BYPASSES {
        let r = app.new_browser().sign_in_from(&login_with_return_to(bypass), SAM_SALES).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{bypass:?}");
        let location = location(&r);
        let target = browser_target(&app.address, &location);
        assert_eq!(target.origin(), portal.origin(), "{bypass:?} led to {location:?}");
        assert!(!target.path().starts_with("//"), "{bypass:?} led to {location:?}");
        assert!(!target.path().starts_with("/login"), "{bypass:?}: no sign-in loop ({location:?})");
    }
}

#[tokio::test]
async fn a_page_of_the_portal_is_where_sign_in_returns() {
    let app = spawn_app().await;
    let id = app.customer_id("Fourth Coffee");
    let b = app.new_browser();
    let r = b.get(&format!("/customers/{id}?from=list")).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "signed out: sign in first");
    let login = location(&r);
    assert!(login.starts_with("/login?return_to="), "{login}");
    let r = b.sign_in_from(&login, SAM_SALES).await;
    assert_eq!(location(&r), format!("/customers/{id}?from=list"), "back on the page asked for");
    let r = app.new_browser().sign_in_from(&login_with_return_to("/customers?status=attested"), SAM_SALES).await;
    assert_eq!(location(&r), "/customers?status=attested");
}

//! Every route answered for every role, as docs/architecture.md says (a role on every route).

use reqwest::StatusCode;

use crate::helpers::*;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    Anonymous,
    NoRole,
    Helpdesk,
    Sales,
    Admin,
}

/// What a GET must answer: a status and, for redirects, where to.
#[derive(Debug)]
enum Expect {
    Ok,
    RedirectTo(&'static str),
    RedirectStartingWith(&'static str),
    Forbidden,
}

async fn browser_for(app: &TestApp, who: Who) -> Browser {
    match who {
        Who::Anonymous => app.new_browser(),
        Who::NoRole => app.signed_in(NICO_NO_ROLE).await,
        Who::Helpdesk => app.signed_in(HANA_HELPDESK).await,
        Who::Sales => app.signed_in(SAM_SALES).await,
        Who::Admin => app.signed_in(ALEX_ADMIN).await,
    }
}

fn expected_get(route: &str, who: Who) -> Expect {
    use Expect::*;
    use Who::*;
    let agent = matches!(who, Helpdesk | Sales | Admin);
    match route {
        "/healthz" | "/readyz" | "/static/app.css" => Ok,
        "/" => match who {
            Anonymous => Ok,
            NoRole => RedirectTo("/no-access"),
            _ => RedirectTo("/customers"),
        },
        "/no-access" => match who {
            Anonymous => RedirectStartingWith("/login?return_to="),
            NoRole => Ok,
            _ => RedirectTo("/customers"),
        },
        r if r.ends_with("/agreement/edit") || r == "/customers/new" => match who {
            Anonymous => RedirectStartingWith("/login?return_to="),
            NoRole | Helpdesk => Forbidden,
            Sales | Admin => Ok,
        },
        r if r.ends_with("/agreement-document") => match who {
            Anonymous => RedirectStartingWith("/login?return_to="),
            NoRole => Forbidden,
            _ if agent => RedirectStartingWith("http://127.0.0.1:"),
            _ => unreachable!(),
        },
        _ => match who {
            Anonymous => RedirectStartingWith("/login?return_to="),
            NoRole => Forbidden,
            _ => Ok,
        },
    }
}

#[tokio::test]
async fn every_get_route_answers_every_role_as_designed() {
    let app = spawn_app().await;
    let id = app.customer_id("Northwind Traders");
    let routes = [
        "/".to_string(),
        "/healthz".into(),
        "/readyz".into(),
        "/static/app.css".into(),
        "/no-access".into(),
        "/customers".into(),
        "/customers?q=wind&status=attested&acceptance=not_provided&sort=attested_newest&size=50".into(),
        format!("/customers/{id}"),
        format!("/customers/{id}/agreement-document"),
        format!("/customers/{id}/agreement/edit"),
        "/customers/new".into(),
    ];
    for who in [Who::Anonymous, Who::NoRole, Who::Helpdesk, Who::Sales, Who::Admin] {
        let b = browser_for(&app, who).await;
        for route in &routes {
            let r = b.get(route).await;
            let status = r.status();
            let to = location(&r);
            let expect = expected_get(route, who);
            match expect {
                Expect::Ok => assert_eq!(status, StatusCode::OK, "{who:?} GET {route}"),
                Expect::Forbidden => assert_eq!(status, StatusCode::FORBIDDEN, "{who:?} GET {route}"),
                Expect::RedirectTo(t) => {
                    assert_eq!(status, StatusCode::SEE_OTHER, "{who:?} GET {route}");
                    assert_eq!(to, t, "{who:?} GET {route}");
                }
                Expect::RedirectStartingWith(t) => {
                    assert_eq!(status, StatusCode::SEE_OTHER, "{who:?} GET {route}");
                    assert!(to.starts_with(t), "{who:?} GET {route} went to {to}");
                }
            }
        }
    }
}

#[tokio::test]
async fn every_post_route_answers_every_role_as_designed() {
    let app = spawn_app().await;
    let id = app.customer_id("Northwind Traders");
    let refresh_one = format!("/customers/{id}/refresh");
    // Send now of a submission that waits for no sign-in: attesters are told so.
    let send_now = format!("/customers/{id}/submissions/{}/send", uuid::Uuid::new_v4());
    // Send now of a new customer the partner does not have: attesters find nothing.
    let send_new = format!("/customers/new/submissions/{}/send", uuid::Uuid::new_v4());
    for who in [Who::NoRole, Who::Helpdesk, Who::Sales, Who::Admin] {
        let b = browser_for(&app, who).await;
        let token_page = if who == Who::NoRole { "/no-access" } else { "/customers" };
        for route in ["/customers/refresh", refresh_one.as_str()] {
            let r = b.post_with_token_of(token_page, route).await;
            if who == Who::NoRole {
                assert_eq!(r.status(), StatusCode::FORBIDDEN, "{who:?} POST {route}");
            } else {
                assert_eq!(r.status(), StatusCode::SEE_OTHER, "{who:?} POST {route}");
            }
        }
        let r = b.post_with_token_of(token_page, &send_now).await;
        let expected =
            if matches!(who, Who::Sales | Who::Admin) { StatusCode::SEE_OTHER } else { StatusCode::FORBIDDEN };
        assert_eq!(r.status(), expected, "{who:?} POST {send_now}");
        let r = b.post_with_token_of(token_page, &send_new).await;
        let expected =
            if matches!(who, Who::Sales | Who::Admin) { StatusCode::NOT_FOUND } else { StatusCode::FORBIDDEN };
        assert_eq!(r.status(), expected, "{who:?} POST {send_new}");
        let r = b.post_with_token_of(token_page, "/logout").await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{who:?} POST /logout");
    }
    // Without a session there is no token to send: refused before any handler runs.
    let anon = app.new_browser();
    for route in ["/customers/refresh", refresh_one.as_str()] {
        let r = anon.post_form(route, &[]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "anonymous POST {route}");
    }
    // Signing out without a session: already signed out, said so.
    let r = anon.post_form("/logout", &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/?signed_out=1");
}

#[tokio::test]
async fn unknown_addresses_get_a_page_with_the_request_id() {
    let app = spawn_app().await;
    let r = app.browser.get("/no/such/page").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let id = r.headers().get("x-request-id").unwrap().to_str().unwrap().to_string();
    let html = r.text().await.unwrap();
    assert!(html.contains(&id), "the page shows the request id of the response header");
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;
    for path in ["/", "/login", "/healthz", "/customers", "/nope"] {
        let r = app.browser.get(path).await;
        let h = r.headers();
        let csp = h.get("content-security-policy").unwrap_or_else(|| panic!("CSP on {path}")).to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}");
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{path}");
        assert_eq!(h.get("x-content-type-options").unwrap(), "nosniff", "{path}");
        assert!(h.get("referrer-policy").is_some(), "{path}");
        assert!(h.get("x-request-id").is_some(), "{path}");
        assert!(h.get("strict-transport-security").is_none(), "no HSTS over plain http ({path})");
    }
}

#[tokio::test]
async fn pages_have_no_inline_script() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let id = app.customer_id("Adatum Corporation");
    for path in ["/customers".to_string(), format!("/customers/{id}")] {
        let (_, html) = b.get_html(&path).await;
        assert!(!html.contains("<script>"), "{path}");
        assert!(!html.contains(" onclick="), "{path}");
    }
}

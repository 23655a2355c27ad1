//! Rate limits (docs/rate-limits.md): sign-in starts and callbacks per client address;
//! every POST per client address and, signed in, per session. Over a limit the answer is
//! 429 with `Retry-After` and a page that says when to try again. The limits live in
//! memory, one GCRA state per key (the `governor` crate); keys not seen lately are
//! forgotten every minute, so memory stays bounded.

use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::time::Duration;

use actix_session::SessionExt;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{ResponseError, web};
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sha2::{Digest, Sha256};

use super::errors::AppError;
use super::middleware::routed_path;
use super::session;
use crate::config::Settings;

/// The limiters of one running portal, shared by its workers.
pub struct RateLimits {
    sign_in: DefaultKeyedRateLimiter<IpAddr>,
    posts: DefaultKeyedRateLimiter<IpAddr>,
    session_posts: DefaultKeyedRateLimiter<[u8; 32]>,
    /// Requests of the readiness API, per API key (its id).
    api_keys: DefaultKeyedRateLimiter<String>,
    proxy_header: Option<String>,
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
}

/// The key an address is counted under: an IPv6 client by its /64 (one subscriber's
/// network, which it can fill with addresses at will), an IPv4-mapped one as IPv4.
fn counted_as(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

/// An address as proxies write it: `203.0.113.7`, `203.0.113.7:4711`, `[2001:db8::1]:443`.
fn parse_address(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    text.parse::<IpAddr>().ok().or_else(|| text.parse::<SocketAddr>().ok().map(|a| a.ip()))
}

/// How long until `key` may go on, when `limiter` refuses it now.
fn refused_for<K: Hash + Eq + Clone>(limiter: &DefaultKeyedRateLimiter<K>, key: &K) -> Option<Duration> {
    limiter.check_key(key).err().map(|not_until| not_until.wait_time_from(limiter.clock().now()))
}

impl RateLimits {
    pub fn new(settings: &Settings) -> RateLimits {
        RateLimits {
            sign_in: RateLimiter::keyed(per_minute(settings.rate_limits.rate_limit_sign_in_per_minute)),
            posts: RateLimiter::keyed(per_minute(settings.rate_limits.rate_limit_posts_per_minute)),
            session_posts: RateLimiter::keyed(per_minute(settings.rate_limits.rate_limit_session_posts_per_minute)),
            api_keys: RateLimiter::keyed(per_minute(settings.api.api_rate_limit_per_minute)),
            proxy_header: settings.trusted_proxy_header.clone(),
        }
    }

    /// Forgets the keys whose state is as good as new (not seen for a while).
    pub fn forget_idle(&self) {
        self.sign_in.retain_recent();
        self.posts.retain_recent();
        self.session_posts.retain_recent();
        self.api_keys.retain_recent();
        self.api_keys.shrink_to_fit();
        self.sign_in.shrink_to_fit();
        self.posts.shrink_to_fit();
        self.session_posts.shrink_to_fit();
    }

    /// How many addresses and sessions are being counted.
    pub fn keys_held(&self) -> usize {
        self.sign_in.len() + self.posts.len() + self.session_posts.len() + self.api_keys.len()
    }

    /// Counts a request of the readiness API made with this key; how long to wait when
    /// the key is over its limit.
    pub fn api_key_wait(&self, key_id: &str) -> Option<Duration> {
        refused_for(&self.api_keys, &key_id.to_string())
    }

    /// The client's address: the last one in the trusted proxy's header when that is
    /// configured and present, else the peer of the connection.
    fn client_address(&self, req: &ServiceRequest) -> IpAddr {
        let from_proxy = self.proxy_header.as_deref().and_then(|name| {
            let value = req.headers().get(name)?.to_str().ok()?;
            parse_address(value.rsplit(',').next()?)
        });
        from_proxy.or_else(|| req.peer_addr().map(|a| a.ip())).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }

    /// Counts the request where it counts; the longest wait when one limit refuses it.
    fn check(&self, req: &ServiceRequest) -> Option<Duration> {
        let sign_in = matches!(routed_path(req), "/login" | "/auth/callback");
        let post = req.method() == Method::POST;
        if !sign_in && !post {
            return None;
        }
        let client = counted_as(self.client_address(req));
        let mut waits = Vec::new();
        if sign_in {
            waits.push(refused_for(&self.sign_in, &client));
        }
        if post {
            waits.push(refused_for(&self.posts, &client));
            if let Some(session) = signed_in_session(req) {
                waits.push(refused_for(&self.session_posts, &session));
            }
        }
        waits.into_iter().flatten().max()
    }
}

/// A signed-in session, known by a hash of its synchronizer token (random per session).
fn signed_in_session(req: &ServiceRequest) -> Option<[u8; 32]> {
    let s = req.get_session();
    session::user(&s)?;
    let token = session::expected_csrf(&s)?;
    Some(Sha256::digest(token.as_bytes()).into())
}

/// Refuses a request over a limit with the "too many requests" page.
pub async fn limit_rates(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let wait = req.app_data::<web::Data<RateLimits>>().and_then(|limits| limits.check(&req));
    match wait {
        Some(wait) => {
            let retry_after_seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let refused = AppError::TooManyRequests { retry_after_seconds: retry_after_seconds.max(1) };
            Ok(req.into_response(refused.error_response()))
        }
        None => next.call(req).await.map(ServiceResponse::map_into_boxed_body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_counted_by_client_network() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(counted_as(a), counted_as(b), "one /64");
        assert_ne!(counted_as(a), counted_as(other));
        let mapped: IpAddr = "::ffff:203.0.113.7".parse().unwrap();
        assert_eq!(counted_as(mapped), "203.0.113.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn proxy_header_addresses_parse_with_or_without_port() {
        assert_eq!(parse_address(" 203.0.113.7"), Some("203.0.113.7".parse().unwrap()));
        assert_eq!(parse_address("203.0.113.7:4711"), Some("203.0.113.7".parse().unwrap()));
        assert_eq!(parse_address("[2001:db8::1]:443"), Some("2001:db8::1".parse().unwrap()));
        assert_eq!(parse_address("unknown"), None);
    }

    #[test]
    fn forgetting_idle_keys_keeps_memory_bounded() {
        let limits = RateLimits::new(&Settings {
            rate_limits: crate::config::RateLimitSettings { rate_limit_posts_per_minute: 6000, ..Default::default() },
            ..Settings::default()
        });
        for i in 0..1000u32 {
            let ip = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
            assert!(refused_for(&limits.posts, &ip).is_none());
        }
        assert_eq!(limits.keys_held(), 1000);
        // At 6000 a minute one request is as good as forgotten after 10 ms.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while limits.keys_held() > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
            limits.forget_idle();
        }
        assert_eq!(limits.keys_held(), 0, "idle keys are dropped");
    }
}

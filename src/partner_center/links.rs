//! Which links from Partner Center's answers the portal passes on to a browser (see
//! "Links from upstream answers" in `docs/partner-center.md`): only `https` addresses, or
//! addresses on the very origin of the API the portal talks to (the built-in sandbox on
//! loopback speaks plain `http`). Anything else — `javascript:`, `data:`, plain `http`
//! elsewhere, an address with a user name in it — is refused as an unreadable answer.

use url::Url;

use super::{PartnerCenter, PcError};

/// Whether `link` may be handed to a browser, given the API's own base address.
fn acceptable(link: &Url, api_base: Option<&Url>) -> bool {
    if !link.username().is_empty() || link.password().is_some() || link.host_str().is_none_or(str::is_empty) {
        return false;
    }
    link.scheme() == "https" || api_base.is_some_and(|base| base.origin() == link.origin())
}

impl PartnerCenter {
    /// The link as given, when it is one a browser may be sent to; `what` names it in the
    /// error otherwise.
    pub(crate) fn upstream_link(&self, what: &'static str, raw: &str) -> Result<String, PcError> {
        let base = Url::parse(self.base_url()).ok();
        match Url::parse(raw.trim()) {
            Ok(link) if acceptable(&link, base.as_ref()) => Ok(link.to_string()),
            Ok(link) => Err(PcError::Decode { what, detail: format!("refused a {} link", link.scheme()) }),
            Err(e) => Err(PcError::Decode { what, detail: format!("the link is not a web address: {e}") }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judged(link: &str, base: &str) -> bool {
        acceptable(&Url::parse(link).unwrap(), Url::parse(base).ok().as_ref())
    }

    #[test]
    fn only_https_or_the_apis_own_origin() {
        let real = "https://api.partnercenter.microsoft.com";
        let sandbox = "http://127.0.0.1:4100";
        assert!(judged("https://docs.example.com/mca.pdf?x=1", real));
        assert!(judged("https://docs.example.com/mca.pdf", sandbox));
        assert!(judged("http://127.0.0.1:4100/documents/1", sandbox));
        for bad in [
            "http://docs.example.com/mca.pdf",
            "http://127.0.0.1:4101/documents/1",
            "javascript:alert(1)",
            "data:text/html,hi",
            "file:///etc/passwd",
            "https://user:pw@docs.example.com/",
            "https://user@docs.example.com/",
        ] {
            assert!(!judged(bad, real), "{bad}");
            assert!(!judged(bad, sandbox), "{bad}");
        }
    }
}

//! A partner tenant's id. Microsoft Entra ID names every tenant by a GUID; the portal keeps
//! each partner's rows apart by it, so nothing else may stand in for one.

/// The tenant id in one spelling (lower-case GUID with hyphens), or None when `s` is not a
/// GUID written with hyphens.
pub fn parse_tenant_id(s: &str) -> Option<String> {
    if s.len() != 36 {
        return None;
    }
    uuid::Uuid::try_parse(s).ok().map(|u| u.hyphenated().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_guids_are_tenant_ids() {
        assert_eq!(
            parse_tenant_id("C0A7050D-0000-4000-8000-000000000001").as_deref(),
            Some("c0a7050d-0000-4000-8000-000000000001")
        );
        for bad in
            ["", "default", "common", "c0a7050d00004000800000000000000", "{c0a7050d-0000-4000-8000-000000000001}"]
        {
            assert_eq!(parse_tenant_id(bad), None, "{bad}");
        }
        assert_eq!(parse_tenant_id("c0a7050d000040008000000000000001"), None, "hyphens are required");
    }
}

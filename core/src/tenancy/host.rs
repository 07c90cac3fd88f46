//! From a `Host` header to the way its town is looked up.

/// How to find the town a host name belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostLookup {
    /// `<slug>.<base_domain>`.
    Slug(String),
    /// Any other name: a town's custom domain, or nobody's.
    CustomDomain(String),
}

/// Classifies the domain part of a `Host` header (without its port).
///
/// Host names are case-insensitive and may end with a dot; both are
/// normalised. The base domain itself, a deeper subdomain of it, and
/// anything that is not a host name belong to no town.
pub fn classify_host(domain: &str, base_domain: &str) -> Option<HostLookup> {
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    if !crate::config::is_valid_hostname(&domain) {
        return None;
    }
    match domain
        .strip_suffix(base_domain)
        .and_then(|prefix| prefix.strip_suffix('.'))
    {
        Some(label) if !label.is_empty() && !label.contains('.') => {
            Some(HostLookup::Slug(label.to_owned()))
        }
        Some(_) => None,
        None if domain == base_domain => None,
        None => Some(HostLookup::CustomDomain(domain)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subdomains_of_the_base_domain_name_a_town() {
        let slug = |s: &str| Some(HostLookup::Slug(s.to_owned()));
        assert_eq!(
            classify_host("villeneuve.localhost", "localhost"),
            slug("villeneuve")
        );
        assert_eq!(
            classify_host("VilleNeuve.LocalHost.", "localhost"),
            slug("villeneuve")
        );
        assert_eq!(
            classify_host("saint-martin.example.fr", "example.fr"),
            slug("saint-martin")
        );
    }

    #[test]
    fn other_names_are_custom_domains() {
        assert_eq!(
            classify_host("Espace.Villeneuve.FR", "localhost"),
            Some(HostLookup::CustomDomain("espace.villeneuve.fr".to_owned()))
        );
        // A name that merely ends with the base domain's letters.
        assert_eq!(
            classify_host("evillocalhost", "localhost"),
            Some(HostLookup::CustomDomain("evillocalhost".to_owned()))
        );
    }

    #[test]
    fn nobody_owns_the_apex_deeper_names_or_garbage() {
        assert_eq!(classify_host("localhost", "localhost"), None);
        assert_eq!(classify_host("a.villeneuve.localhost", "localhost"), None);
        assert_eq!(classify_host("", "localhost"), None);
        assert_eq!(classify_host("vil_le.localhost", "localhost"), None);
        assert_eq!(
            classify_host("127.0.0.1", "localhost"),
            Some(HostLookup::CustomDomain("127.0.0.1".to_owned()))
        );
    }
}

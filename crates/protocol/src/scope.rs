//! Scopes (RFC 6749 section 3.3): case-sensitive tokens of `NQCHAR`s,
//! space-delimited on the wire, order irrelevant.

use std::collections::BTreeSet;
use std::fmt;

/// Longest scope name accepted, in bytes.
pub const MAX_NAME_LEN: usize = 128;
/// Most scopes one request may name.
pub const MAX_SCOPES: usize = 64;

/// One scope token: `1*( %x21 / %x23-5B / %x5D-7E )`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ScopeName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidScope {
    #[error("scope name must not be empty")]
    Empty,
    #[error(
        "scope {0:?} contains a character outside the scope-token grammar (printable ASCII other than space, '\"' and '\\')"
    )]
    BadCharacter(String),
    #[error("scope name is longer than {MAX_NAME_LEN} bytes")]
    TooLong,
    #[error("more than {MAX_SCOPES} scopes requested")]
    TooMany,
}

impl ScopeName {
    pub fn parse(s: &str) -> Result<ScopeName, InvalidScope> {
        if s.is_empty() {
            return Err(InvalidScope::Empty);
        }
        if s.len() > MAX_NAME_LEN {
            return Err(InvalidScope::TooLong);
        }
        if !s
            .bytes()
            .all(|b| matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E))
        {
            return Err(InvalidScope::BadCharacter(s.to_owned()));
        }
        Ok(ScopeName(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ScopeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ScopeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// A set of scopes, kept sorted so its wire form is canonical.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct ScopeSet(BTreeSet<ScopeName>);

impl ScopeSet {
    pub fn new() -> ScopeSet {
        ScopeSet::default()
    }

    /// Parses the space-delimited wire form. An empty string is the empty set;
    /// repeated spaces are tolerated, any other whitespace is not.
    pub fn parse(s: &str) -> Result<ScopeSet, InvalidScope> {
        Self::parse_with(s, ' ')
    }

    /// Parses a list delimited by `separator` (a dialect may use ',').
    pub fn parse_with(s: &str, separator: char) -> Result<ScopeSet, InvalidScope> {
        let mut set = BTreeSet::new();
        for token in s.split(separator).filter(|t| !t.is_empty()) {
            set.insert(ScopeName::parse(token)?);
            if set.len() > MAX_SCOPES {
                return Err(InvalidScope::TooMany);
            }
        }
        Ok(ScopeSet(set))
    }

    pub fn from_names(names: impl IntoIterator<Item = ScopeName>) -> ScopeSet {
        ScopeSet(names.into_iter().collect())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.0.iter().any(|n| n.as_str() == name)
    }

    pub fn is_subset(&self, other: &ScopeSet) -> bool {
        self.0.is_subset(&other.0)
    }

    pub fn intersection(&self, other: &ScopeSet) -> ScopeSet {
        ScopeSet(self.0.intersection(&other.0).cloned().collect())
    }

    /// The members of `self` that are not in `other`.
    pub fn difference(&self, other: &ScopeSet) -> ScopeSet {
        ScopeSet(self.0.difference(&other.0).cloned().collect())
    }

    pub fn union(&self, other: &ScopeSet) -> ScopeSet {
        ScopeSet(self.0.union(&other.0).cloned().collect())
    }

    pub fn iter(&self) -> impl Iterator<Item = &ScopeName> {
        self.0.iter()
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, name) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(name.as_str())?;
        }
        Ok(())
    }
}

impl fmt::Debug for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ScopeSet({:?})", self.to_string())
    }
}

impl<'a> IntoIterator for &'a ScopeSet {
    type Item = &'a ScopeName;
    type IntoIter = std::collections::btree_set::Iter<'a, ScopeName>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_form_is_canonical() {
        let s = ScopeSet::parse("profile  email profile api:read").unwrap();
        assert_eq!(s.to_string(), "api:read email profile");
        assert_eq!(s.len(), 3);
        assert_eq!(ScopeSet::parse("").unwrap(), ScopeSet::new());
        let c = ScopeSet::parse_with("read,notifications,manage", ',').unwrap();
        assert_eq!(c.to_string(), "manage notifications read");
    }

    #[test]
    fn refuses_tokens_outside_the_grammar() {
        for bad in [
            "openid profile\ninjected",
            "openid\"",
            "openid\\",
            "op\u{435}nid",
            "a\u{0}",
            "a\tb",
        ] {
            assert!(
                matches!(ScopeSet::parse(bad), Err(InvalidScope::BadCharacter(_))),
                "{bad:?}"
            );
        }
        let many = (0..=MAX_SCOPES)
            .map(|i| format!("s{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(ScopeSet::parse(&many), Err(InvalidScope::TooMany));
        assert_eq!(
            ScopeName::parse(&"a".repeat(MAX_NAME_LEN + 1)),
            Err(InvalidScope::TooLong)
        );
    }

    #[test]
    fn set_algebra() {
        let ab = ScopeSet::parse("a b").unwrap();
        let bc = ScopeSet::parse("b c").unwrap();
        assert_eq!(ab.intersection(&bc).to_string(), "b");
        assert_eq!(ab.difference(&bc).to_string(), "a");
        assert_eq!(ab.union(&bc).to_string(), "a b c");
        assert!(ScopeSet::parse("b").unwrap().is_subset(&ab));
        assert!(!bc.is_subset(&ab));
        assert!(ab.contains("a") && !ab.contains("c"));
    }
}

//! Scopes with required claims. A token request for such a scope must carry
//! the claims, as request parameters named after them or as an RFC 9396
//! `authorization_details` entry whose `type` is the scope's name. They are
//! bound into the token and returned by introspection.

use protocol::{ErrorCode, OAuthError, Params, ScopeSet};
use serde_json::{Map, Value};
use store::Scope;

/// Claims bound to a token: claim name to value, and the
/// `authorization_details` the request sent, if it used them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Claims {
    pub values: Map<String, Value>,
    pub authorization_details: Option<Value>,
}

impl Claims {
    /// The stored form: a JSON object of the claims, with
    /// `authorization_details` beside them (a name no claim may take).
    pub(crate) fn to_json(&self) -> String {
        let mut object = self.values.clone();
        if let Some(details) = &self.authorization_details {
            object.insert("authorization_details".to_owned(), details.clone());
        }
        Value::Object(object).to_string()
    }

    /// Reads the stored form; anything unreadable is no claims at all.
    pub(crate) fn from_json(stored: &str) -> Claims {
        let Ok(Value::Object(mut values)) = serde_json::from_str::<Value>(stored) else {
            return Claims::default();
        };
        let authorization_details = values.remove("authorization_details");
        Claims {
            values,
            authorization_details,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty() && self.authorization_details.is_none()
    }
}

/// `scopes` without those that require claims.
pub(crate) fn without_claims(registry: &[Scope], scopes: &ScopeSet) -> ScopeSet {
    let needs_claims = |name: &str| {
        registry
            .iter()
            .any(|s| s.name == name && !s.required_claims.is_empty())
    };
    ScopeSet::from_names(scopes.iter().filter(|n| !needs_claims(n.as_str())).cloned())
}

fn invalid_details(description: impl AsRef<str>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidAuthorizationDetails, description)
}

/// The claims `scopes` require, taken from the request. A missing claim is
/// `invalid_request` naming every missing one; malformed or unknown
/// `authorization_details` are `invalid_authorization_details` (RFC 9396
/// section 5).
pub(crate) fn bind(
    registry: &[Scope],
    scopes: &ScopeSet,
    params: &Params,
) -> Result<Claims, OAuthError> {
    let details = match params.get("authorization_details") {
        None => None,
        Some(raw) => match serde_json::from_str::<Value>(raw) {
            Ok(Value::Array(entries)) => Some(entries),
            _ => {
                return Err(invalid_details(
                    "authorization_details must be a JSON array of objects",
                ));
            }
        },
    };
    let detail_of = |scope: &str| -> Result<Option<Map<String, Value>>, OAuthError> {
        let Some(entries) = &details else {
            return Ok(None);
        };
        for entry in entries {
            let Value::Object(entry) = entry else {
                return Err(invalid_details(
                    "each authorization_details entry must be an object",
                ));
            };
            if entry.get("type").and_then(Value::as_str) == Some(scope) {
                return Ok(Some(entry.clone()));
            }
        }
        Ok(None)
    };
    if let Some(entries) = &details {
        for entry in entries {
            let kind = entry.get("type").and_then(Value::as_str);
            let known = kind.is_some_and(|k| {
                scopes.contains(k)
                    && registry
                        .iter()
                        .any(|s| s.name == k && !s.required_claims.is_empty())
            });
            if !known {
                return Err(invalid_details(format!(
                    "authorization_details type {} is not one of the requested scopes that take claims",
                    kind.unwrap_or("(missing)")
                )));
            }
        }
    }
    let mut claims = Claims::default();
    let mut missing: Vec<String> = Vec::new();
    for scope in registry.iter().filter(|s| scopes.contains(&s.name)) {
        if scope.required_claims.is_empty() {
            continue;
        }
        let detail = detail_of(&scope.name)?;
        let mut absent = Vec::new();
        for claim in &scope.required_claims {
            let value = match &detail {
                Some(d) => d.get(claim).cloned().filter(|v| !v.is_null()),
                None => params.get(claim).map(|v| Value::String(v.to_owned())),
            };
            match value {
                Some(Value::String(s)) if s.is_empty() => absent.push(claim.clone()),
                Some(v) => {
                    claims.values.insert(claim.clone(), v);
                }
                None => absent.push(claim.clone()),
            }
        }
        if !absent.is_empty() {
            missing.push(format!("{} needs {}", scope.name, absent.join(", ")));
        }
    }
    if !missing.is_empty() {
        return Err(OAuthError::invalid_request(format!(
            "missing required claims: {}",
            missing.join("; ")
        )));
    }
    claims.authorization_details = details.map(Value::Array);
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> Vec<Scope> {
        vec![
            Scope {
                name: "application".into(),
                label: "application".into(),
                description: String::new(),
                required_claims: vec![],
                created_at: 0,
            },
            Scope {
                name: "application.session".into(),
                label: "application.session".into(),
                description: String::new(),
                required_claims: vec![
                    "application_id".into(),
                    "redirect_url".into(),
                    "workflow_id".into(),
                ],
                created_at: 0,
            },
        ]
    }

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params::from_pairs(pairs.iter().copied()).unwrap()
    }

    #[test]
    fn scopes_without_claims_bind_nothing() {
        let scopes = ScopeSet::parse("application").unwrap();
        let claims = bind(&registry(), &scopes, &params(&[])).unwrap();
        assert!(claims.is_empty());
        assert_eq!(claims.to_json(), "{}");
    }

    #[test]
    fn claims_come_from_parameters() {
        let scopes = ScopeSet::parse("application.session").unwrap();
        let p = params(&[
            ("application_id", "app-1"),
            ("workflow_id", "wf-2"),
            ("redirect_url", "https://x.example/done"),
        ]);
        let claims = bind(&registry(), &scopes, &p).unwrap();
        assert_eq!(claims.values["application_id"], "app-1");
        assert_eq!(claims.values["workflow_id"], "wf-2");
        assert_eq!(Claims::from_json(&claims.to_json()), claims);
    }

    #[test]
    fn missing_claims_are_named() {
        let scopes = ScopeSet::parse("application.session").unwrap();
        let e = bind(&registry(), &scopes, &params(&[("application_id", "a")])).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest);
        assert!(
            e.description.contains("redirect_url, workflow_id"),
            "{}",
            e.description
        );
    }

    #[test]
    fn claims_come_from_authorization_details() {
        let scopes = ScopeSet::parse("application application.session").unwrap();
        let details = r#"[{"type":"application.session","application_id":"a","workflow_id":"w","redirect_url":"https://r.example"}]"#;
        let claims = bind(
            &registry(),
            &scopes,
            &params(&[("authorization_details", details)]),
        )
        .unwrap();
        assert_eq!(claims.values["workflow_id"], "w");
        assert!(claims.authorization_details.is_some());
        let unknown = r#"[{"type":"payment_initiation"}]"#;
        let e = bind(
            &registry(),
            &scopes,
            &params(&[("authorization_details", unknown)]),
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidAuthorizationDetails);
        let e = bind(
            &registry(),
            &scopes,
            &params(&[("authorization_details", "{}")]),
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidAuthorizationDetails);
    }
}

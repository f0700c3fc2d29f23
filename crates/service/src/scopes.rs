//! The scope registry: every scope a client may be allowed to ask for.

use std::sync::Arc;

use protocol::ScopeName;
use store::Scope;

use crate::{Origin, Service, ServiceError};

#[derive(Clone, Debug, Default)]
pub struct NewScope {
    pub name: String,
    pub label: Option<String>,
    pub description: String,
    pub required_claims: Vec<String>,
}

/// Names a claim may not take: introspection answers carry them already.
const RESERVED_CLAIMS: [&str; 14] = [
    "active",
    "scope",
    "client_id",
    "username",
    "token_type",
    "exp",
    "iat",
    "nbf",
    "sub",
    "aud",
    "iss",
    "jti",
    "type",
    "authorization_details",
];

fn parse_claim_name(s: &str) -> Result<String, ServiceError> {
    if RESERVED_CLAIMS.contains(&s) {
        return Err(ServiceError::invalid(
            "required claim",
            format!("{s:?} is reserved by RFC 7662 and RFC 9396"),
        ));
    }
    let valid = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if valid {
        Ok(s.to_owned())
    } else {
        Err(ServiceError::invalid(
            "required claim",
            format!("{s:?} must be 1 to 64 characters of letters, digits, '_', '-' or '.'"),
        ))
    }
}

impl Service {
    pub async fn create_scope(
        &self,
        new: NewScope,
        origin: &Origin,
    ) -> Result<Scope, ServiceError> {
        let name = ScopeName::parse(&new.name).map_err(|e| ServiceError::invalid("scope", e))?;
        let label = match new.label {
            Some(l) => protocol::client::parse_display_name(&l)
                .map_err(|e| ServiceError::invalid("label", e))?,
            None => name.to_string(),
        };
        if new.description.chars().count() > 1000 {
            return Err(ServiceError::invalid(
                "description",
                "is longer than 1000 characters",
            ));
        }
        let mut required_claims = new
            .required_claims
            .iter()
            .map(|c| parse_claim_name(c))
            .collect::<Result<Vec<_>, _>>()?;
        required_claims.sort();
        required_claims.dedup();
        let scope = Scope {
            name: name.to_string(),
            label,
            description: new.description.trim().to_owned(),
            required_claims,
            created_at: self.now(),
        };
        self.store.insert_scope(&scope).await?;
        self.scopes.forget();
        self.audit(
            "scope.created",
            origin,
            None,
            format!("scope={}", scope.name),
        )
        .await;
        Ok(scope)
    }

    /// Creates each scope that does not exist yet; existing ones are left
    /// as they are. For registries a configuration file seeds at start.
    pub async fn ensure_scopes(
        &self,
        wanted: Vec<NewScope>,
        origin: &Origin,
    ) -> Result<(), ServiceError> {
        let existing = self.store.list_scopes().await?;
        for new in wanted {
            if !existing.iter().any(|s| s.name == new.name) {
                match self.create_scope(new, origin).await {
                    // Another node seeded it a moment ago.
                    Ok(_) | Err(ServiceError::Conflict(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }

    pub async fn list_scopes(&self) -> Result<Vec<Scope>, ServiceError> {
        Ok(self.scopes().await?.as_ref().clone())
    }

    /// The registry, from memory when it was read less than
    /// `client_cache_ttl` seconds ago (changes through this node apply at once).
    pub(crate) async fn scopes(&self) -> Result<Arc<Vec<Scope>>, ServiceError> {
        let now = self.now();
        let ttl = self.policy.client_cache_ttl;
        if let Some(scopes) = self.scopes.get(now, ttl) {
            return Ok(scopes);
        }
        let scopes = Arc::new(self.store.list_scopes().await?);
        self.scopes.put(&scopes, now, ttl);
        Ok(scopes)
    }

    /// Deletes a scope that no client may ask for any more.
    pub async fn delete_scope(&self, name: &str, origin: &Origin) -> Result<(), ServiceError> {
        let users: Vec<String> = self
            .store
            .list_clients(None)
            .await?
            .into_iter()
            .filter(|c| c.scopes.contains(name))
            .map(|c| c.id)
            .collect();
        if !users.is_empty() {
            return Err(ServiceError::invalid(
                "scope",
                format!(
                    "{name:?} is still allowed for clients {}; remove it from them first",
                    users.join(", ")
                ),
            ));
        }
        let deleted = self.store.delete_scope(name).await?;
        self.scopes.forget();
        if !deleted {
            return Err(ServiceError::NotFound(format!("scope {name:?}")));
        }
        self.audit("scope.deleted", origin, None, format!("scope={name}"))
            .await;
        Ok(())
    }
}

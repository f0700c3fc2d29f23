//! The scope registry: every scope a client may be allowed to ask for.

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

fn parse_claim_name(s: &str) -> Result<String, ServiceError> {
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
        self.audit(
            "scope.created",
            origin,
            None,
            format!("scope={}", scope.name),
        )
        .await;
        Ok(scope)
    }

    pub async fn list_scopes(&self) -> Result<Vec<Scope>, ServiceError> {
        Ok(self.store.list_scopes().await?)
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
        if !self.store.delete_scope(name).await? {
            return Err(ServiceError::NotFound(format!("scope {name:?}")));
        }
        self.audit("scope.deleted", origin, None, format!("scope={name}"))
            .await;
        Ok(())
    }
}

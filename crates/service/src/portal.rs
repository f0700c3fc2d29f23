//! What a signed-in user manages themselves: the apps they own (the
//! developer portal) and the apps they have authorized (Connections).

use std::collections::HashMap;

use store::{Client, Consent, User};

use crate::{Origin, Service, ServiceError};

/// An app the user has authorized.
#[derive(Clone, Debug)]
pub struct Connection {
    pub client: Client,
    /// The app owner's username.
    pub owner: Option<String>,
    pub consent: Consent,
}

/// How many users have authorized an app, and when one last did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub users: i64,
    pub last_used_at: Option<i64>,
}

impl Service {
    /// A client the user owns; another user's client is `None`, as if it did not exist.
    pub async fn owned_client(
        &self,
        user: &User,
        client_id: &str,
    ) -> Result<Option<Client>, ServiceError> {
        Ok(self
            .client(client_id)
            .await?
            .filter(|c| c.owner_id.as_deref() == Some(user.id.as_str())))
    }

    /// Usage of each of the user's clients, by client id.
    pub async fn usage_of_owned_clients(
        &self,
        user: &User,
    ) -> Result<HashMap<String, Usage>, ServiceError> {
        Ok(self
            .store
            .client_usage(&user.id)
            .await?
            .into_iter()
            .map(|(id, users, last_used_at)| {
                (
                    id,
                    Usage {
                        users,
                        last_used_at,
                    },
                )
            })
            .collect())
    }

    /// Every app the user has authorized.
    pub async fn connections(&self, user: &User) -> Result<Vec<Connection>, ServiceError> {
        let mut out = Vec::new();
        for consent in self.store.list_consents(&user.id).await? {
            let Some(client) = self.client(&consent.client_id).await? else {
                continue;
            };
            let owner = match &client.owner_id {
                Some(id) => self.store.user_by_id(id).await?.map(|u| u.username),
                None => None,
            };
            out.push(Connection {
                client,
                owner,
                consent,
            });
        }
        Ok(out)
    }

    /// Ends the user's authorization of an app: the consent and every
    /// token of that user for that app, at once.
    pub async fn revoke_connection(
        &self,
        user: &User,
        client_id: &str,
        origin: &Origin,
    ) -> Result<bool, ServiceError> {
        let revoked = self
            .store
            .revoke_authorization(&user.id, client_id, self.now())
            .await?;
        self.grants.invalidate();
        if revoked {
            let origin = Origin {
                user_id: Some(user.id.clone()),
                ..origin.clone()
            };
            self.audit(
                "connection.revoked",
                &origin,
                Some(client_id),
                String::new(),
            )
            .await;
        }
        Ok(revoked)
    }
}

/// A personal access token as its owner sees it (never the token itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenInfo {
    /// URL-safe id, to delete it by.
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

fn token_info(t: &store::PersonalAccessToken) -> TokenInfo {
    use base64::Engine as _;
    TokenInfo {
        id: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(t.id.as_bytes()),
        name: t.name.clone(),
        created_at: t.created_at,
        last_used_at: t.last_used_at,
    }
}

impl Service {
    /// Creates a personal access token for scripting the developer API;
    /// the token is returned once and stored only as its hash.
    pub async fn create_personal_access_token(
        &self,
        user: &User,
        name: &str,
        origin: &Origin,
    ) -> Result<(String, TokenInfo), ServiceError> {
        use protocol::token::{Kind, Verifier};
        let name = protocol::client::parse_display_name(name)
            .map_err(|e| ServiceError::invalid("name", e))?;
        let id = crate::secrets::row_id(self.clock.now_millis())?;
        let token = crate::secrets::credential(Kind::PersonalAccessToken, id)?;
        let record = store::PersonalAccessToken {
            id,
            verifier: Verifier::of(&token),
            user_id: user.id.clone(),
            name,
            created_at: self.now(),
            last_used_at: None,
        };
        self.store.insert_personal_access_token(&record).await?;
        let origin = Origin {
            user_id: Some(user.id.clone()),
            ..origin.clone()
        };
        self.audit(
            "personal_access_token.created",
            &origin,
            None,
            format!("name={}", record.name),
        )
        .await;
        Ok((token, token_info(&record)))
    }

    /// The (enabled) user a personal access token belongs to.
    pub async fn personal_access_token_user(
        &self,
        presented: &str,
    ) -> Result<Option<User>, ServiceError> {
        use protocol::token::{self, Kind};
        let Some(id) = token::row_id(Kind::PersonalAccessToken, presented) else {
            return Ok(None);
        };
        let Some(t) = self.store.personal_access_token(id).await? else {
            return Ok(None);
        };
        if !t.verifier.verify(presented) {
            return Ok(None);
        }
        let user = self
            .store
            .user_by_id(&t.user_id)
            .await?
            .filter(|u| !u.disabled);
        if user.is_some() {
            self.store
                .touch_personal_access_token(id, self.now())
                .await?;
        }
        Ok(user)
    }

    pub async fn personal_access_tokens(
        &self,
        user: &User,
    ) -> Result<Vec<TokenInfo>, ServiceError> {
        Ok(self
            .store
            .list_personal_access_tokens(&user.id)
            .await?
            .iter()
            .map(token_info)
            .collect())
    }

    /// Deletes one of the user's tokens; `false` when they have no such token.
    pub async fn delete_personal_access_token(
        &self,
        user: &User,
        id: &str,
        origin: &Origin,
    ) -> Result<bool, ServiceError> {
        use base64::Engine as _;
        let Some(row) = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(id)
            .ok()
            .and_then(|b| protocol::token::RowId::from_slice(&b))
        else {
            return Ok(false);
        };
        let deleted = self
            .store
            .delete_personal_access_token(&user.id, row)
            .await?;
        if deleted {
            let origin = Origin {
                user_id: Some(user.id.clone()),
                ..origin.clone()
            };
            self.audit(
                "personal_access_token.deleted",
                &origin,
                None,
                String::new(),
            )
            .await;
        }
        Ok(deleted)
    }
}

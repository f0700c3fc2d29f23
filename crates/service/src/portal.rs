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

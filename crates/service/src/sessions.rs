//! Browser sessions: sign-in with a local account, lookup, sign-out.

use protocol::token::{self, Kind, RowId, Verifier};
use store::{Session, User};

use crate::{Origin, Service, ServiceError, secrets};

/// A signed-in browser: the session's id and its user.
#[derive(Clone, Debug)]
pub struct SignedIn {
    pub session_id: RowId,
    pub user: User,
}

impl Service {
    /// Checks a username and password; on success starts a session and
    /// returns the cookie value that names it.
    pub async fn sign_in(
        &self,
        username: &str,
        password: &str,
        origin: &Origin,
    ) -> Result<Option<(String, User)>, ServiceError> {
        let Some(user) = self.authenticate(username, password).await? else {
            self.audit(
                "login.failed",
                origin,
                None,
                format!("username={}", username.chars().take(64).collect::<String>()),
            )
            .await;
            return Ok(None);
        };
        let now = self.now();
        let id = secrets::row_id(self.clock.now_millis())?;
        let cookie = secrets::credential(Kind::Session, id)?;
        let session = Session {
            id,
            verifier: Verifier::of(&cookie),
            user_id: user.id.clone(),
            created_at: now,
            expires_at: now + self.policy.session_ttl,
            last_seen_at: now,
        };
        self.store.insert_session(&session).await?;
        let origin = Origin {
            user_id: Some(user.id.clone()),
            ..origin.clone()
        };
        self.audit("login.succeeded", &origin, None, String::new())
            .await;
        Ok(Some((cookie, user)))
    }

    /// The live session a cookie names, with its (enabled) user.
    pub async fn signed_in(&self, cookie: &str) -> Result<Option<SignedIn>, ServiceError> {
        let Some(id) = token::row_id(Kind::Session, cookie) else {
            return Ok(None);
        };
        let Some(session) = self.store.session(id).await? else {
            return Ok(None);
        };
        if !session.verifier.verify(cookie) || session.expires_at <= self.now() {
            return Ok(None);
        }
        Ok(self
            .store
            .user_by_id(&session.user_id)
            .await?
            .filter(|u| !u.disabled)
            .map(|user| SignedIn {
                session_id: id,
                user,
            }))
    }

    /// Ends the session a cookie names, if any.
    pub async fn sign_out(&self, cookie: &str) -> Result<(), ServiceError> {
        if let Some(signed_in) = self.signed_in(cookie).await? {
            self.store.delete_session(signed_in.session_id).await?;
            let origin = Origin {
                user_id: Some(signed_in.user.id),
                ip: None,
            };
            self.audit("logout", &origin, None, String::new()).await;
        }
        Ok(())
    }
}

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

/// The outcome of a sign-in attempt.
#[derive(Clone, Debug)]
pub enum SignIn {
    /// A new session: the cookie value that names it, and its user.
    Started(String, User),
    /// Wrong username or password (the two are not told apart).
    Refused,
    /// Too many failures for this username from this address; try later.
    Throttled,
}

impl Service {
    /// Checks a username and password; on success starts a session. Five
    /// failures for one username from one address lock that pair out for
    /// 15 minutes, so passwords cannot be guessed online.
    pub async fn sign_in(
        &self,
        username: &str,
        password: &str,
        origin: &Origin,
    ) -> Result<SignIn, ServiceError> {
        let keys = [format!(
            "login:{}:{}",
            username.to_lowercase(),
            origin.ip.as_deref().unwrap_or("-")
        )];
        if !self.login_attempts.allowed(&keys, self.now()) {
            return Ok(SignIn::Throttled);
        }
        let Some(user) = self.authenticate(username, password).await? else {
            self.login_attempts.record_failure(&keys, self.now());
            self.audit(
                "login.failed",
                origin,
                None,
                format!("username={}", username.chars().take(64).collect::<String>()),
            )
            .await;
            return Ok(SignIn::Refused);
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
        Ok(SignIn::Started(cookie, user))
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

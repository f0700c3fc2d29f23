//! Local accounts.

use store::User;

use crate::{Origin, Service, ServiceError, secrets};

pub const MIN_PASSWORD_LEN: usize = 8;
pub const MAX_PASSWORD_LEN: usize = 1024;

/// What it takes to create an account.
#[derive(Clone, Debug)]
pub struct NewUser {
    pub username: String,
    pub email: Option<String>,
    pub password: String,
}

/// A username: 1 to 64 characters of ASCII letters, digits and `.`, `_`, `-`, `@`.
fn parse_username(s: &str) -> Result<String, ServiceError> {
    let valid = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'));
    if valid {
        Ok(s.to_owned())
    } else {
        Err(ServiceError::invalid(
            "username",
            "must be 1 to 64 characters of letters, digits, '.', '_', '-' or '@'",
        ))
    }
}

fn parse_email(s: &str) -> Result<String, ServiceError> {
    let s = s.trim();
    let valid = s.len() <= 254
        && s.split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        && !s.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(s.to_owned())
    } else {
        Err(ServiceError::invalid("email", "is not an email address"))
    }
}

fn check_password(p: &str) -> Result<(), ServiceError> {
    let n = p.chars().count();
    if n < MIN_PASSWORD_LEN {
        return Err(ServiceError::invalid(
            "password",
            format!("must have at least {MIN_PASSWORD_LEN} characters"),
        ));
    }
    if p.len() > MAX_PASSWORD_LEN {
        return Err(ServiceError::invalid(
            "password",
            format!("must have at most {MAX_PASSWORD_LEN} bytes"),
        ));
    }
    Ok(())
}

impl Service {
    pub async fn create_user(&self, new: NewUser, origin: &Origin) -> Result<User, ServiceError> {
        let username = parse_username(&new.username)?;
        let email = new
            .email
            .as_deref()
            .filter(|e| !e.trim().is_empty())
            .map(parse_email)
            .transpose()?;
        check_password(&new.password)?;
        let now = self.now();
        let user = User {
            id: secrets::identifier::<16>()?,
            username,
            email,
            password_hash: secrets::hash_password(new.password).await?,
            disabled: false,
            created_at: now,
            updated_at: now,
        };
        self.store.insert_user(&user).await?;
        self.audit(
            "user.created",
            origin,
            None,
            format!("username={}", user.username),
        )
        .await;
        Ok(user)
    }

    pub async fn list_users(&self) -> Result<Vec<User>, ServiceError> {
        Ok(self.store.list_users().await?)
    }

    pub async fn user(&self, id: &str) -> Result<Option<User>, ServiceError> {
        Ok(self.store.user_by_id(id).await?)
    }

    pub async fn user_by_username(&self, username: &str) -> Result<Option<User>, ServiceError> {
        Ok(self.store.user_by_username(username).await?)
    }

    pub async fn set_user_disabled(
        &self,
        username: &str,
        disabled: bool,
        origin: &Origin,
    ) -> Result<(), ServiceError> {
        if !self
            .store
            .set_user_disabled(username, disabled, self.now())
            .await?
        {
            return Err(ServiceError::NotFound(format!("user {username:?}")));
        }
        // The user's tokens stop (or work again) here at once.
        self.grants.invalidate();
        let kind = if disabled {
            "user.disabled"
        } else {
            "user.enabled"
        };
        self.audit(kind, origin, None, format!("username={username}"))
            .await;
        Ok(())
    }

    pub async fn set_user_password(
        &self,
        username: &str,
        password: String,
        origin: &Origin,
    ) -> Result<(), ServiceError> {
        check_password(&password)?;
        let hash = secrets::hash_password(password).await?;
        if !self
            .store
            .set_user_password(username, &hash, self.now())
            .await?
        {
            return Err(ServiceError::NotFound(format!("user {username:?}")));
        }
        self.audit(
            "user.password_changed",
            origin,
            None,
            format!("username={username}"),
        )
        .await;
        Ok(())
    }

    /// Checks a username and password. Takes the same time whether or not
    /// the user exists; a disabled user cannot sign in.
    pub async fn authenticate(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<User>, ServiceError> {
        let user = self.store.user_by_username(username).await?;
        let hash = user.as_ref().map(|u| u.password_hash.clone());
        let ok = secrets::verify_password(password.to_owned(), hash).await;
        Ok(user.filter(|u| ok && !u.disabled))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert!(parse_username("alice").is_ok());
        assert!(parse_username("a.b-c_d@e").is_ok());
        for bad in ["", "a b", "ａlice", "a/b", &"a".repeat(65)] {
            assert!(parse_username(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn emails_and_passwords() {
        assert_eq!(parse_email(" a@b.test ").unwrap(), "a@b.test");
        assert!(parse_email("nope").is_err());
        assert!(parse_email("a@b").is_err());
        assert!(check_password("short").is_err());
        assert!(check_password("long enough").is_ok());
    }
}

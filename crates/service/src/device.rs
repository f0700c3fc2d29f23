//! Authorizing an app on a device where the user is not signed in: the RFC
//! 8628 device authorization grant, and pairing codes (a signed-in user gets
//! a one-time code for an app and types it into the device).

use std::collections::HashMap;
use std::sync::Mutex;

use hmac::{KeyInit, Mac};
use protocol::token::{self, Kind, Verifier};
use protocol::user_code::{self, PAIRING_CODE_LEN, USER_CODE_LEN};
use protocol::{ErrorCode, GrantType, OAuthError, Params, ScopeSet};
use store::{Client, DeviceCode, DeviceStatus, PairingCode, Redeemed, User};

use crate::claims;
use crate::oauth::TokenResponse;
use crate::{Origin, Service, ServiceError, secrets};

/// What the device shows its user (RFC 8628 section 3.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceAuthorization {
    pub device_code: String,
    /// Display form, e.g. `WDJB-MJHT`.
    pub user_code: String,
    pub expires_in: i64,
    pub interval: i64,
}

/// A pending device authorization, as the user-code page shows it.
#[derive(Clone, Debug)]
pub struct PendingDevice {
    pub code: DeviceCode,
    pub client: Client,
}

/// Wrong entries allowed per key (session or address) in one window.
const MAX_FAILURES: u32 = 5;
/// The window, in seconds.
const FAILURE_WINDOW: i64 = 15 * 60;

/// Counts failed attempts (wrong codes, wrong passwords) per key and refuses
/// further ones for a while once there were too many. Kept in memory, per node.
#[derive(Debug, Default)]
pub struct AttemptLimiter {
    failures: Mutex<HashMap<String, (u32, i64)>>,
}

impl AttemptLimiter {
    /// Whether every key may try now.
    pub fn allowed(&self, keys: &[String], now: i64) -> bool {
        let map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        keys.iter().all(|k| match map.get(k) {
            Some((count, since)) => now - since >= FAILURE_WINDOW || *count < MAX_FAILURES,
            None => true,
        })
    }

    pub fn record_failure(&self, keys: &[String], now: i64) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            map.retain(|_, (_, since)| now - *since < FAILURE_WINDOW);
        }
        for k in keys {
            let entry = map.entry(k.clone()).or_insert((0, now));
            if now - entry.1 >= FAILURE_WINDOW {
                *entry = (0, now);
            }
            entry.0 += 1;
        }
    }
}

/// Why a typed user code was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeRefusal {
    /// Unknown, expired or already used.
    Invalid,
    /// Too many wrong entries from this browser or address.
    TooManyAttempts,
}

impl Service {
    fn code_lookup(&self, canonical: &str) -> Vec<u8> {
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&self.keys.user_codes)
            .expect("HMAC accepts any key length");
        mac.update(canonical.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// `POST /oauth2/device_authorization` (RFC 8628 section 3.1).
    pub async fn device_authorization(
        &self,
        authorization: Option<&str>,
        params: &Params,
        origin: &Origin,
    ) -> Result<DeviceAuthorization, OAuthError> {
        let client = self
            .authenticate_client(authorization, params, origin)
            .await?;
        if !client.grant_types.contains(&GrantType::DeviceCode) {
            return Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                "this client may not use the device grant",
            ));
        }
        let scopes = crate::oauth::requested_scope(params, &client.scopes)?
            .unwrap_or_else(|| client.scopes.clone());
        let now = self.now();
        let id = secrets::row_id(self.clock.now_millis())?;
        let device_code = secrets::credential(Kind::DeviceCode, id)?;
        let shown =
            user_code::from_random(&secrets::random::<32>()?, USER_CODE_LEN).ok_or_else(|| {
                ServiceError::Internal("not enough random bytes for a user code".into())
            })?;
        let canonical =
            user_code::normalize(&shown, USER_CODE_LEN).expect("a generated code is valid");
        let record = DeviceCode {
            id,
            verifier: Verifier::of(&device_code),
            user_code: self.code_lookup(&canonical),
            client_id: client.id.clone(),
            scopes,
            status: DeviceStatus::Pending,
            user_id: None,
            interval_secs: self.policy.device_poll_interval,
            last_polled_at: None,
            created_at: now,
            expires_at: now + self.policy.device_code_ttl,
        };
        self.store
            .insert_device_code(&record)
            .await
            .map_err(ServiceError::from)?;
        self.audit("device.started", origin, Some(&client.id), String::new())
            .await;
        Ok(DeviceAuthorization {
            device_code,
            user_code: shown,
            expires_in: self.policy.device_code_ttl,
            interval: self.policy.device_poll_interval,
        })
    }

    /// The pending, unexpired device authorization a typed code names.
    /// Wrong entries count against `limit_keys` (the session and address).
    pub async fn pending_device(
        &self,
        typed: &str,
        limit_keys: &[String],
    ) -> Result<Result<PendingDevice, CodeRefusal>, ServiceError> {
        let now = self.now();
        if !self.device_attempts.allowed(limit_keys, now) {
            return Ok(Err(CodeRefusal::TooManyAttempts));
        }
        let found = match user_code::normalize(typed, USER_CODE_LEN) {
            Some(canonical) => {
                self.store
                    .device_code_by_user_code(&self.code_lookup(&canonical))
                    .await?
            }
            None => None,
        };
        let live = found.filter(|d| d.status == DeviceStatus::Pending && d.expires_at > now);
        let client = match &live {
            Some(d) => self.client(&d.client_id).await?,
            None => None,
        };
        match (live, client) {
            (Some(code), Some(client)) => Ok(Ok(PendingDevice { code, client })),
            _ => {
                self.device_attempts.record_failure(limit_keys, now);
                Ok(Err(CodeRefusal::Invalid))
            }
        }
    }

    /// The user's decision on a device authorization; `false` when it was
    /// no longer pending.
    pub async fn decide_device(
        &self,
        user: &User,
        pending: &PendingDevice,
        approve: bool,
        origin: &Origin,
    ) -> Result<bool, ServiceError> {
        // An approval is a consent too: the app shows on Connections, and
        // revoking it there ends what the device code issued.
        let consent = if approve {
            Some(self.consent_to(&user.id, &pending.client.id, &pending.code.scopes)?)
        } else {
            None
        };
        let decided = self
            .store
            .decide_device_code(pending.code.id, &user.id, consent.as_ref())
            .await?;
        if decided {
            let origin = Origin {
                user_id: Some(user.id.clone()),
                ..origin.clone()
            };
            let kind = if approve {
                "grant.approved"
            } else {
                "grant.denied"
            };
            self.audit(kind, &origin, Some(&pending.client.id), "device".to_owned())
                .await;
        }
        Ok(decided)
    }

    /// The device grant at the token endpoint (RFC 8628 section 3.4 and 3.5).
    pub(crate) async fn device_token(
        &self,
        client: &Client,
        params: &Params,
        origin: &Origin,
    ) -> Result<TokenResponse, OAuthError> {
        let presented = params.require("device_code")?;
        let now = self.now();
        let found = match token::row_id(Kind::DeviceCode, presented) {
            Some(id) => self
                .store
                .device_code(id)
                .await
                .map_err(ServiceError::from)?,
            None => None,
        };
        let Some(code) = found.filter(|d| d.verifier.verify(presented)) else {
            return Err(OAuthError::new(
                ErrorCode::InvalidGrant,
                "the device code is invalid",
            ));
        };
        if code.client_id != client.id {
            return Err(OAuthError::new(
                ErrorCode::InvalidGrant,
                "the device code was issued to another client",
            ));
        }
        if code.expires_at <= now {
            return Err(OAuthError::new(
                ErrorCode::ExpiredToken,
                "the device code has expired",
            ));
        }
        // Polling faster than the interval: slow down, and the interval grows by 5 seconds.
        let too_fast = code
            .last_polled_at
            .is_some_and(|at| now - at < code.interval_secs);
        let interval = if too_fast {
            code.interval_secs + 5
        } else {
            code.interval_secs
        };
        self.store
            .record_device_poll(code.id, now, interval)
            .await
            .map_err(ServiceError::from)?;
        if too_fast && code.status == DeviceStatus::Pending {
            return Err(OAuthError::new(
                ErrorCode::SlowDown,
                format!("poll at most every {interval} seconds"),
            ));
        }
        match code.status {
            DeviceStatus::Pending => Err(OAuthError::new(
                ErrorCode::AuthorizationPending,
                "the user has not finished yet",
            )),
            DeviceStatus::Denied => Err(OAuthError::new(
                ErrorCode::AccessDenied,
                "the user denied the request",
            )),
            DeviceStatus::Consumed => Err(OAuthError::new(
                ErrorCode::InvalidGrant,
                "the device code has already been used",
            )),
            DeviceStatus::Approved => {
                let user_id = code
                    .user_id
                    .clone()
                    .ok_or_else(|| ServiceError::Internal("approved without a user".into()))?;
                let bound = claims::bind(&self.scopes().await?, &code.scopes, params)?;
                let (grant, response) = self.new_issue(
                    secrets::row_id(self.clock.now_millis())?,
                    client,
                    GrantType::DeviceCode,
                    &user_id,
                    &code.scopes,
                    bound,
                )?;
                match self
                    .store
                    .redeem_device_code(code.id, &grant)
                    .await
                    .map_err(ServiceError::from)?
                {
                    Redeemed::Issued => {}
                    Redeemed::Replayed { .. } => {
                        return Err(OAuthError::new(
                            ErrorCode::InvalidGrant,
                            "the device code has already been used",
                        ));
                    }
                    Redeemed::Missing => {
                        return Err(OAuthError::new(
                            ErrorCode::AccessDenied,
                            "the user revoked the app's access",
                        ));
                    }
                }
                self.audit(
                    "token.issued",
                    origin,
                    Some(&client.id),
                    "grant=device_code".to_owned(),
                )
                .await;
                Ok(response)
            }
        }
    }

    /// The apps a user may get a pairing code for.
    pub async fn pairing_clients(&self) -> Result<Vec<Client>, ServiceError> {
        let all = self.store.list_clients(None).await?;
        Ok(all
            .into_iter()
            .filter(|c| c.grant_types.contains(&GrantType::PairingCode))
            .collect())
    }

    /// A client that offers pairing codes.
    pub async fn pairing_client(&self, client_id: &str) -> Result<Option<Client>, ServiceError> {
        Ok(self
            .client(client_id)
            .await?
            .filter(|c| c.grant_types.contains(&GrantType::PairingCode)))
    }

    /// Issues a one-time pairing code for the user and app, covering the
    /// app's scopes; returns it in display form.
    pub async fn issue_pairing_code(
        &self,
        user: &User,
        client: &Client,
        origin: &Origin,
    ) -> Result<String, ServiceError> {
        let now = self.now();
        let shown = user_code::from_random(&secrets::random::<48>()?, PAIRING_CODE_LEN)
            .ok_or_else(|| {
                ServiceError::Internal("not enough random bytes for a pairing code".into())
            })?;
        let canonical =
            user_code::normalize(&shown, PAIRING_CODE_LEN).expect("a generated code is valid");
        // A pairing code is a consent too: the app shows on Connections, and
        // revoking it there ends what the code issued.
        let consent = self.consent_to(&user.id, &client.id, &client.scopes)?;
        self.store
            .insert_pairing_code(
                &PairingCode {
                    id: secrets::row_id(self.clock.now_millis())?,
                    lookup: self.code_lookup(&canonical),
                    client_id: client.id.clone(),
                    user_id: user.id.clone(),
                    scopes: client.scopes.clone(),
                    created_at: now,
                    expires_at: now + self.policy.pairing_code_ttl,
                    consumed_at: None,
                },
                &consent,
            )
            .await?;
        let origin = Origin {
            user_id: Some(user.id.clone()),
            ..origin.clone()
        };
        self.audit(
            "grant.approved",
            &origin,
            Some(&client.id),
            "pairing code".to_owned(),
        )
        .await;
        Ok(shown)
    }

    /// The pairing-code grant at the token endpoint.
    pub(crate) async fn pairing_token(
        &self,
        client: &Client,
        params: &Params,
        origin: &Origin,
    ) -> Result<TokenResponse, OAuthError> {
        let invalid = || {
            OAuthError::new(
                ErrorCode::InvalidGrant,
                "the code is invalid, expired or already used",
            )
        };
        let typed = params.require("code")?;
        let Some(canonical) = user_code::normalize(typed, PAIRING_CODE_LEN) else {
            return Err(invalid());
        };
        let now = self.now();
        let found = self
            .store
            .pairing_code(&self.code_lookup(&canonical))
            .await
            .map_err(ServiceError::from)?;
        let Some(code) = found
            .filter(|p| p.client_id == client.id && p.expires_at > now && p.consumed_at.is_none())
        else {
            return Err(invalid());
        };
        let scopes: ScopeSet = code.scopes.intersection(&client.scopes);
        let bound = claims::bind(&self.scopes().await?, &scopes, params)?;
        let (grant, response) = self.new_issue(
            secrets::row_id(self.clock.now_millis())?,
            client,
            GrantType::PairingCode,
            &code.user_id,
            &scopes,
            bound,
        )?;
        match self
            .store
            .redeem_pairing_code(code.id, now, &grant)
            .await
            .map_err(ServiceError::from)?
        {
            Redeemed::Issued => {
                self.audit(
                    "token.issued",
                    origin,
                    Some(&client.id),
                    "grant=pairing_code".to_owned(),
                )
                .await;
                Ok(response)
            }
            _ => Err(invalid()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limiter_refuses_after_five_failures_for_a_while() {
        let limiter = AttemptLimiter::default();
        let keys = vec!["ip:1".to_owned(), "session:a".to_owned()];
        for _ in 0..MAX_FAILURES {
            assert!(limiter.allowed(&keys, 100));
            limiter.record_failure(&keys, 100);
        }
        assert!(!limiter.allowed(&keys, 101));
        assert!(
            !limiter.allowed(&["ip:1".to_owned()], 101),
            "each key is limited on its own"
        );
        assert!(limiter.allowed(&["ip:2".to_owned()], 101));
        assert!(
            limiter.allowed(&keys, 100 + FAILURE_WINDOW),
            "the window passes"
        );
    }
}

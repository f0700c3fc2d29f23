use store::StoreError;

/// Why a use case refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The input is wrong; `field` names which part.
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0} already exists")]
    Conflict(String),
    #[error(transparent)]
    Store(StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    pub(crate) fn invalid(field: &'static str, message: impl ToString) -> ServiceError {
        ServiceError::Invalid {
            field,
            message: message.to_string(),
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> ServiceError {
        match e {
            StoreError::Conflict(what) => ServiceError::Conflict(what.to_string()),
            e => ServiceError::Store(e),
        }
    }
}

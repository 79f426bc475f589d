//! Errors are data: every refusal has a stable snake_case code and a message a person can act
//! on. The same codes reach JS (`Error.code`) and HTTP (`{"code", "message"}`).

use serde::Serialize;
use thiserror::Error;

/// `items` joined with ", ", for messages that list names. Built by hand: `[&str]::join` is
/// 1 KB of the WebAssembly module for its two callers (issue 13).
pub fn comma_list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let mut list = String::new();
    for item in items {
        if !list.is_empty() {
            list.push_str(", ");
        }
        list.push_str(item);
    }
    list
}

/// Why the ledger refused an event. A rejected event never changes the ledger.
///
/// The checks run in this order (SPEC §3 rule 12): the event's time, its kind, its id,
/// idempotency, its values, the hold it names, the model, plan, pack or provider it names, and
/// last whether the model or the credits are available.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectCode {
    /// A usage or debit arrived while no credits are available and the model is not billed
    /// to an own key.
    CreditsExhausted,
    /// The model is own-key only and its provider's key is not connected.
    ModelUnavailable,
    /// The model id is not in the catalogue.
    UnknownModel,
    /// The provider id is not in the catalogue.
    UnknownProvider,
    /// The pack id is not in the catalogue.
    UnknownPack,
    /// The plan id is not in the catalogue.
    UnknownPlan,
    /// The id was accepted before with different content.
    IdempotencyConflict,
    /// The hold named by a commit or release was never placed.
    HoldNotFound,
    /// The hold was already committed or released.
    HoldClosed,
    /// A hold asks for more credits than are available.
    InsufficientCredits,
    /// The event is malformed: bad or out-of-order time, unknown kind, missing id, or a value
    /// out of range.
    InvalidEvent,
}

impl RejectCode {
    /// Every code, for documentation and exhaustive tests.
    pub const ALL: [RejectCode; 11] = [
        RejectCode::CreditsExhausted,
        RejectCode::ModelUnavailable,
        RejectCode::UnknownModel,
        RejectCode::UnknownProvider,
        RejectCode::UnknownPack,
        RejectCode::UnknownPlan,
        RejectCode::IdempotencyConflict,
        RejectCode::HoldNotFound,
        RejectCode::HoldClosed,
        RejectCode::InsufficientCredits,
        RejectCode::InvalidEvent,
    ];

    /// The stable snake_case code.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectCode::CreditsExhausted => "credits_exhausted",
            RejectCode::ModelUnavailable => "model_unavailable",
            RejectCode::UnknownModel => "unknown_model",
            RejectCode::UnknownProvider => "unknown_provider",
            RejectCode::UnknownPack => "unknown_pack",
            RejectCode::UnknownPlan => "unknown_plan",
            RejectCode::IdempotencyConflict => "idempotency_conflict",
            RejectCode::HoldNotFound => "hold_not_found",
            RejectCode::HoldClosed => "hold_closed",
            RejectCode::InsufficientCredits => "insufficient_credits",
            RejectCode::InvalidEvent => "invalid_event",
        }
    }
}

impl std::fmt::Display for RejectCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused event: its code and a message a person can act on.
#[derive(Clone, Debug, PartialEq, Eq, Error, Serialize)]
#[error("{code}: {message}")]
pub struct Rejection {
    pub code: RejectCode,
    pub message: String,
}

impl Rejection {
    pub fn new(code: RejectCode, message: impl Into<String>) -> Self {
        Rejection {
            code,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Rejection::new(RejectCode::InvalidEvent, message)
    }
}

/// Why a catalogue document was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum CatalogueError {
    /// The document is not valid JSON.
    #[error("the catalogue is not valid JSON: {0}")]
    InvalidJson(String),
    /// The document has a field this version does not know (a typo would otherwise be ignored).
    #[error("the catalogue has an unknown field: {0}")]
    UnknownField(String),
    /// The `schema` or `version` is not the one this build reads.
    #[error(
        "unsupported catalogue `{schema}` version {version}; this build reads `ai-credits/catalogue` version 1"
    )]
    UnsupportedVersion { schema: String, version: u32 },
    /// Two providers, models, plans or packs share an id.
    #[error("duplicate {what} id `{id}`")]
    DuplicateId { what: String, id: String },
    /// A rate is below zero.
    #[error("model `{model}` has a negative {field} rate")]
    NegativeRate { model: String, field: String },
    /// A model names a provider that is not in the catalogue.
    #[error("model `{model}` names unknown provider `{provider}`")]
    UnknownProvider { model: String, provider: String },
    /// The default model is not in the catalogue.
    #[error("the default model `{0}` is not in the catalogue")]
    UnknownDefaultModel(String),
    /// The default model cannot be paid with credits, so an account without keys could not use it.
    #[error("the default model `{0}` is not available on credits")]
    DefaultModelNotOnCredits(String),
    /// A value is out of range or of the wrong type.
    #[error("invalid catalogue value: {0}")]
    InvalidValue(String),
    /// The document or one of its lists exceeds a limit.
    #[error("the catalogue is too large: {0}")]
    TooLarge(String),
}

impl CatalogueError {
    /// The stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            CatalogueError::InvalidJson(_) => "catalogue_invalid_json",
            CatalogueError::UnknownField(_) => "catalogue_unknown_field",
            CatalogueError::UnsupportedVersion { .. } => "catalogue_unsupported_version",
            CatalogueError::DuplicateId { .. } => "catalogue_duplicate_id",
            CatalogueError::NegativeRate { .. } => "catalogue_negative_rate",
            CatalogueError::UnknownProvider { .. } => "catalogue_unknown_provider",
            CatalogueError::UnknownDefaultModel(_) => "catalogue_unknown_default_model",
            CatalogueError::DefaultModelNotOnCredits(_) => "catalogue_default_model_not_on_credits",
            CatalogueError::InvalidValue(_) => "catalogue_invalid_value",
            CatalogueError::TooLarge(_) => "catalogue_too_large",
        }
    }
}

/// Why a document could not be run as a scenario (the runner's own errors, not rejections).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ScenarioError {
    /// The text is not JSON.
    #[error("the scenario is not valid JSON: {0}")]
    InvalidJson(String),
    /// The document is valid JSON but not a scenario (not an object, no account, bad fields).
    #[error("not a scenario: {0}")]
    NotAScenario(String),
    /// The account names a plan that is not in the catalogue.
    #[error("the account's plan `{0}` is not in the catalogue")]
    UnknownPlan(String),
    /// `query_at` is missing, not a time, or before the last event.
    #[error("bad query_at: {0}")]
    BadQueryAt(String),
}

impl ScenarioError {
    /// The stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            ScenarioError::InvalidJson(_) => "scenario_invalid_json",
            ScenarioError::NotAScenario(_) => "scenario_invalid",
            ScenarioError::UnknownPlan(_) => "unknown_plan",
            ScenarioError::BadQueryAt(_) => "scenario_bad_query_at",
        }
    }
}

/// Why a checkpoint document could not be restored.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum CheckpointError {
    /// Not JSON, not a checkpoint, another format or version, or a value out of range: the
    /// document was not made by this core (or was changed since).
    #[error("not a valid checkpoint: {0}")]
    Invalid(String),
    /// The checkpoint was made with another catalogue than the one it is restored with: prices
    /// could differ, so it is refused. Fetch the catalogue it names (`GET /v1/catalogue`).
    #[error(
        "the checkpoint was made with catalogue {expected}, not this one ({found}); restore it with the catalogue it names"
    )]
    CatalogueMismatch { expected: String, found: String },
}

impl CheckpointError {
    /// The stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            CheckpointError::Invalid(_) => "checkpoint_invalid",
            CheckpointError::CatalogueMismatch { .. } => "checkpoint_catalogue_mismatch",
        }
    }
}

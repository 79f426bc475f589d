//! Who may do what: SPEC §5.1 as one table. Every endpoint asks [`Caller::may`] for its
//! action before it does anything, and `tests/roles.rs` reads [`TABLE`] to try every caller
//! on every endpoint, on its own account and on another one.

use axum::http::StatusCode;

use ai_credits::EventKind;

use crate::error::{ApiError, ErrorCode};
use crate::http::auth::{Caller, Role};

/// Who is calling, as the table's columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Who {
    /// The operator's token (`AI_CREDITS_ADMIN_TOKEN`).
    Platform,
    Admin,
    Member,
    Service,
}

impl Who {
    pub const ALL: [Who; 4] = [Who::Platform, Who::Admin, Who::Member, Who::Service];

    pub fn as_str(self) -> &'static str {
        match self {
            Who::Platform => "platform",
            Who::Admin => "admin",
            Who::Member => "member",
            Who::Service => "service",
        }
    }

    /// The article before the name: "an admin", "a member".
    fn article(self) -> &'static str {
        match self {
            Who::Admin => "an",
            Who::Platform | Who::Member | Who::Service => "a",
        }
    }

    fn column(self) -> usize {
        match self {
            Who::Platform => 0,
            Who::Admin => 1,
            Who::Member => 2,
            Who::Service => 3,
        }
    }
}

impl From<Role> for Who {
    fn from(role: Role) -> Who {
        match role {
            Role::Admin => Who::Admin,
            Role::Member => Who::Member,
            Role::Service => Who::Service,
        }
    }
}

/// Everything a caller can ask of the API, as the table's rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    CreateAccount,
    ChangePlan,
    IssueToken,
    ListTokens,
    RevokeToken,
    PurchasePack,
    /// Save, test, list or remove provider keys.
    ManageKeys,
    ReadAudit,
    MarkKeyRejected,
    SelectModel,
    Hold,
    Release,
    /// `usage`, `debit` and `commit`: charging what happened.
    Charge,
    /// State, balances, checkpoint and entries.
    Read,
    /// `connect_key`, `key_invalid` and `remove_key` posted as events: only on an
    /// `--allow-client-time` server (replays and imports of history), where they carry what
    /// happened then; anywhere else key states change through the keys endpoints only.
    PostKeyEvent,
    /// AI calls through the gateway (SPEC §5.4).
    GatewayCall,
    /// List, read and delete conversations with the assistant: a person's own (admins
    /// included: they are people's, not the business's); the host app's backend for any member.
    Conversations,
    /// Register, list and remove webhooks, and read their delivery log.
    ManageWebhooks,
    /// Read the receipts of purchases: who buys packs may.
    ReadReceipts,
}

/// What the table grants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grant {
    No,
    Yes,
    /// For the token's own member only: a hold placed for itself, a release of its own hold.
    OwnMember,
}

use Grant::{No, OwnMember as Own, Yes};

/// SPEC §5.1's table; columns: platform, admin, member, service.
pub const TABLE: [(Action, [Grant; 4]); 19] = [
    (Action::CreateAccount, [Yes, No, No, No]),
    (Action::ChangePlan, [Yes, No, No, No]),
    (Action::IssueToken, [Yes, No, No, No]),
    (Action::ListTokens, [Yes, No, No, No]),
    (Action::RevokeToken, [Yes, No, No, No]),
    (Action::PurchasePack, [Yes, Yes, No, No]),
    (Action::ManageKeys, [No, Yes, No, No]),
    (Action::ReadAudit, [No, Yes, No, No]),
    (Action::MarkKeyRejected, [No, No, No, Yes]),
    (Action::SelectModel, [Yes, Yes, No, No]),
    (Action::Hold, [Yes, Own, Own, Yes]),
    (Action::Release, [Yes, Yes, Own, Yes]),
    (Action::Charge, [Yes, No, No, Yes]),
    (Action::Read, [Yes, Yes, Yes, Yes]),
    (Action::PostKeyEvent, [Yes, No, No, No]),
    (Action::GatewayCall, [No, No, No, Yes]),
    (Action::Conversations, [No, Own, Own, Yes]),
    (Action::ManageWebhooks, [Yes, Yes, No, No]),
    (Action::ReadReceipts, [Yes, Yes, No, No]),
];

/// What `who` may do of `action`.
pub fn grant(who: Who, action: Action) -> Grant {
    TABLE
        .iter()
        .find(|(a, _)| *a == action)
        .map_or(No, |(_, row)| row[who.column()])
}

impl Action {
    /// The action an event of `kind` is.
    pub fn of_event(kind: EventKind) -> Action {
        match kind {
            EventKind::Usage | EventKind::Debit | EventKind::Commit => Action::Charge,
            EventKind::Hold => Action::Hold,
            EventKind::Release => Action::Release,
            EventKind::PurchasePack => Action::PurchasePack,
            EventKind::SelectModel => Action::SelectModel,
            EventKind::ChangePlan => Action::ChangePlan,
            EventKind::ConnectKey | EventKind::KeyInvalid | EventKind::RemoveKey => {
                Action::PostKeyEvent
            }
        }
    }

    /// What the action is, for a refusal's message.
    pub fn describe(self) -> &'static str {
        match self {
            Action::CreateAccount => "create accounts",
            Action::ChangePlan => "change an account's plan",
            Action::IssueToken => "issue tokens",
            Action::ListTokens => "list tokens",
            Action::RevokeToken => "revoke tokens",
            Action::PurchasePack => "buy credit packs",
            Action::ManageKeys => "save, list or remove provider keys",
            Action::ReadAudit => "read the audit log",
            Action::MarkKeyRejected => "mark a provider key rejected",
            Action::SelectModel => "choose the account's model",
            Action::Hold => "place holds",
            Action::Release => "release holds",
            Action::Charge => "post usage, debits or commits",
            Action::Read => "read the account",
            Action::PostKeyEvent => "post key events",
            Action::GatewayCall => "make AI calls through the gateway",
            Action::Conversations => "read or delete conversations",
            Action::ManageWebhooks => "manage webhooks",
            Action::ReadReceipts => "read purchase receipts",
        }
    }
}

impl Caller {
    /// Who the caller is, as the table's column.
    pub fn who(&self) -> Who {
        match self {
            Caller::Platform => Who::Platform,
            Caller::Account { role, .. } => Who::from(*role),
        }
    }

    /// May this caller do `action` on `account_id`? A token of another account gets the same
    /// 404 as an account that does not exist (so it cannot probe for accounts); a caller the
    /// table refuses gets 403 `forbidden`. Account-less actions (creating accounts) pass
    /// `None`.
    pub fn may(&self, action: Action, account_id: Option<&str>) -> Result<Grant, ApiError> {
        if let (
            Caller::Account {
                account_id: own, ..
            },
            Some(id),
        ) = (self, account_id)
            && own != id
        {
            return Err(ApiError::account_not_found());
        }
        match grant(self.who(), action) {
            No => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                ErrorCode::Forbidden,
                format!(
                    "{} {} token may not {}; see SPEC §5.1 for who may",
                    self.who().article(),
                    self.who().as_str(),
                    action.describe()
                ),
            )),
            granted => Ok(granted),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_one_row() {
        // Proves the table names each action exactly once (a missing row would silently refuse).
        for (i, (a, _)) in TABLE.iter().enumerate() {
            assert_eq!(TABLE.iter().filter(|(b, _)| b == a).count(), 1, "{a:?}");
            assert!(TABLE[..i].iter().all(|(b, _)| b != a));
        }
    }

    #[test]
    fn the_table_is_spec_5_1() {
        // Proves a few of SPEC §5.1's cells: plans are the platform's, members hold for themselves, only the service charges.
        assert_eq!(grant(Who::Admin, Action::ChangePlan), No);
        assert_eq!(grant(Who::Platform, Action::ChangePlan), Yes);
        assert_eq!(grant(Who::Member, Action::Hold), Grant::OwnMember);
        assert_eq!(grant(Who::Member, Action::Release), Grant::OwnMember);
        assert_eq!(grant(Who::Admin, Action::Release), Yes);
        assert_eq!(grant(Who::Member, Action::SelectModel), No);
        assert_eq!(grant(Who::Admin, Action::Charge), No);
        assert_eq!(grant(Who::Platform, Action::ManageKeys), No);
    }
}

//! Conversations with the assistant, per account and member (migration 0005).

use sqlx::Row;

use super::Db;

/// Longest title kept, in characters (the start of the conversation's first message).
pub const TITLE_CHARS_MAX: usize = 80;

/// One call of a conversation, as the gateway records it once the call is charged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TurnRow {
    pub entry_id: String,
    pub member: String,
    pub conversation_id: String,
    pub at: String,
    pub model: String,
    pub feature: Option<String>,
    pub message: String,
    pub reply: String,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub credits: i64,
    pub billed_to: String,
    pub estimated: bool,
}

/// A conversation as its list shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversationRow {
    pub id: String,
    pub title: String,
    pub started_at: String,
    pub updated_at: String,
    pub turns: i64,
    pub credits: i64,
}

/// The title of a conversation that starts with `message`: its first line, shortened.
pub fn title_of(message: &str) -> String {
    let line = message.trim().lines().next().unwrap_or("").trim();
    if line.chars().count() <= TITLE_CHARS_MAX {
        return line.to_owned();
    }
    let cut: String = line.chars().take(TITLE_CHARS_MAX - 1).collect();
    format!("{}…", cut.trim_end())
}

const TURN_COLUMNS: &str = "entry_id, member, conversation_id, at, model, feature, message, reply, input_tokens, output_tokens, credits, billed_to, estimated";

fn turn_of(r: &sqlx::any::AnyRow) -> Result<TurnRow, sqlx::Error> {
    Ok(TurnRow {
        entry_id: r.try_get(0)?,
        member: r.try_get(1)?,
        conversation_id: r.try_get(2)?,
        at: r.try_get(3)?,
        model: r.try_get(4)?,
        feature: r.try_get(5)?,
        message: r.try_get(6)?,
        reply: r.try_get(7)?,
        input_tokens: r.try_get(8)?,
        output_tokens: r.try_get(9)?,
        credits: r.try_get(10)?,
        billed_to: r.try_get(11)?,
        estimated: r.try_get::<i64, _>(12)? != 0,
    })
}

impl Db {
    /// Records a turn and counts it in its conversation (created by its first turn), in one
    /// transaction. A turn whose entry is recorded already changes nothing: false.
    pub async fn put_turn(&self, account_id: &str, turn: &TurnRow) -> Result<bool, sqlx::Error> {
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query(&format!(
            "INSERT INTO conversation_turns (account_id, {TURN_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
             ON CONFLICT (account_id, entry_id) DO NOTHING"
        ))
        .bind(account_id)
        .bind(&turn.entry_id)
        .bind(&turn.member)
        .bind(&turn.conversation_id)
        .bind(&turn.at)
        .bind(&turn.model)
        .bind(turn.feature.as_deref())
        .bind(&turn.message)
        .bind(&turn.reply)
        .bind(turn.input_tokens)
        .bind(turn.output_tokens)
        .bind(turn.credits)
        .bind(&turn.billed_to)
        .bind(i64::from(turn.estimated))
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !inserted {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO conversations (account_id, member, id, title, started_at, updated_at, turns, credits) \
             VALUES ($1, $2, $3, $4, $5, $5, 1, $6) \
             ON CONFLICT (account_id, member, id) DO UPDATE SET \
             updated_at = excluded.updated_at, turns = conversations.turns + 1, \
             credits = conversations.credits + excluded.credits",
        )
        .bind(account_id)
        .bind(&turn.member)
        .bind(&turn.conversation_id)
        .bind(title_of(&turn.message))
        .bind(&turn.at)
        .bind(turn.credits)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// A member's conversations, the most recently used first, at most `limit`.
    pub async fn conversations(
        &self,
        account_id: &str,
        member: &str,
        limit: i64,
    ) -> Result<Vec<ConversationRow>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT id, title, started_at, updated_at, turns, credits FROM conversations \
             WHERE account_id = $1 AND member = $2 ORDER BY updated_at DESC, id LIMIT $3",
        )
        .bind(account_id)
        .bind(member)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ConversationRow {
                    id: r.try_get(0)?,
                    title: r.try_get(1)?,
                    started_at: r.try_get(2)?,
                    updated_at: r.try_get(3)?,
                    turns: r.try_get(4)?,
                    credits: r.try_get(5)?,
                })
            })
            .collect()
    }

    /// One of a member's conversations with its turns, oldest first (the newest `limit`).
    pub async fn conversation(
        &self,
        account_id: &str,
        member: &str,
        id: &str,
        limit: i64,
    ) -> Result<Option<(ConversationRow, Vec<TurnRow>)>, sqlx::Error> {
        let mut tx = self.begin_read().await?;
        let Some(row) = sqlx::query(
            "SELECT id, title, started_at, updated_at, turns, credits FROM conversations \
             WHERE account_id = $1 AND member = $2 AND id = $3",
        )
        .bind(account_id)
        .bind(member)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(None);
        };
        let conversation = ConversationRow {
            id: row.try_get(0)?,
            title: row.try_get(1)?,
            started_at: row.try_get(2)?,
            updated_at: row.try_get(3)?,
            turns: row.try_get(4)?,
            credits: row.try_get(5)?,
        };
        let rows = sqlx::query(&format!(
            "SELECT {TURN_COLUMNS} FROM (SELECT {TURN_COLUMNS} FROM conversation_turns \
             WHERE account_id = $1 AND member = $2 AND conversation_id = $3 \
             ORDER BY at DESC, entry_id DESC LIMIT $4) AS newest ORDER BY at, entry_id"
        ))
        .bind(account_id)
        .bind(member)
        .bind(id)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        let turns = rows.iter().map(turn_of).collect::<Result<_, _>>()?;
        tx.commit().await?;
        Ok(Some((conversation, turns)))
    }

    /// The turn an entry made, if it was a member's call in a conversation.
    pub async fn turn(
        &self,
        account_id: &str,
        member: &str,
        entry_id: &str,
    ) -> Result<Option<TurnRow>, sqlx::Error> {
        let row = sqlx::query(&format!(
            "SELECT {TURN_COLUMNS} FROM conversation_turns \
             WHERE account_id = $1 AND member = $2 AND entry_id = $3"
        ))
        .bind(account_id)
        .bind(member)
        .bind(entry_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(turn_of).transpose()
    }

    /// Deletes one of a member's conversations and its turns (the ledger's entries stay):
    /// false when there was none.
    pub async fn delete_conversation(
        &self,
        account_id: &str,
        member: &str,
        id: &str,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "DELETE FROM conversation_turns WHERE account_id = $1 AND member = $2 AND conversation_id = $3",
        )
        .bind(account_id)
        .bind(member)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let deleted = sqlx::query(
            "DELETE FROM conversations WHERE account_id = $1 AND member = $2 AND id = $3",
        )
        .bind(account_id)
        .bind(member)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        tx.commit().await?;
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_title_is_the_first_line_shortened_on_a_character_boundary() {
        // Proves titles take the first line, and cut long ones at TITLE_CHARS_MAX characters (never inside a character) with an ellipsis.
        assert_eq!(
            title_of("  How many bookings today?\nthanks"),
            "How many bookings today?"
        );
        let long = "é".repeat(200);
        let title = title_of(&long);
        assert_eq!(title.chars().count(), TITLE_CHARS_MAX);
        assert!(title.ends_with('…'));
    }
}

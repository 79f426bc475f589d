//! Message estimates: what a message will cost before it is sent, as an honest range, and
//! what it leaves. The same routing, gate and draw order as `Ledger::apply`.
//!
//! **Output** is the uncertain part. It is calibrated from the account's own history: the
//! output tokens of past usages of the same feature and model (then the same feature, then the
//! same model), taking the 10th percentile, the median and the 90th percentile as low,
//! expected and high once there are `history_samples_min` of them; otherwise the catalogue's
//! defaults. **Input** is the text's token estimate (itself a range: see `tokens`) plus the
//! conversation history sent with it.
//!
//! **Agent-style requests** (features listed in the catalogue's `estimation.agent.features`)
//! call the model several times: each round sends the whole context again, grown by the
//! previous round's output and the tool result it triggered. With `R` rounds, a prompt of `P`
//! tokens, `O` output tokens per round and `T` tokens per tool result:
//! input = `R·P + R(R−1)/2 · (O + T)`, output = `R·O`. The catalogue gives `R` as a range, so
//! an agent request's high end grows quadratically with its rounds, as real agent runs do.
//!
//! Each round's prompt `P` is the text, the conversation and the host app's own tokens for
//! the feature (`estimation.prompt_tokens`: its instructions and tool definitions). A quick
//! action is sent with narrower instructions of its own and a cap on its answer, so it is
//! estimated from its own budget (`input_tokens`, `output_tokens`), as one round.
//!
//! **Tasks** are told from lookups by the message itself ([`is_task`]): a request to change
//! things ("Create a booking…") or one that names several items or days ("…three products over
//! five days") is answered with tool calls, so it is estimated with the catalogue's
//! `estimation.task_rounds` (default 1–2–4) by the same formula; a question is one round.

use serde::Serialize;

use crate::catalogue::{Model, QuickAction, Range};
use crate::error::Rejection;
use crate::event::Tokens;
use crate::keys::BilledTo;
use crate::ledger::{Draw, Ledger, gate, unknown_model};
use crate::time::Instant;
use crate::tokens::TokenEstimate;
use crate::units::{Credits, credits_from_millicredits, usd_micros_from_millicredits};

/// Where the output expectation came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CalibrationSource {
    /// Past usages of the same feature and model.
    FeatureModel,
    /// Past usages of the same feature, any model.
    Feature,
    /// Past usages of the same model, any feature.
    Model,
    /// Too little history: the catalogue's defaults.
    Catalogue,
}

/// Output tokens of one answer, and where that came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Calibration {
    pub source: CalibrationSource,
    /// Past answers it is based on (0 for the catalogue's defaults).
    pub samples: u32,
    pub output_tokens: Range,
}

/// A message about to be sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageRequest {
    pub model: String,
    /// Input tokens of the new text (from `tokens::estimate_tokens` or a `TokenCounter`).
    pub text_tokens: TokenEstimate,
    /// Tokens of the conversation so far, sent along with it.
    pub history_tokens: u64,
    pub feature: Option<String>,
    pub member: Option<String>,
    /// Whether the message reads as a task ([`is_task`] of its text).
    pub task: bool,
}

/// Words that open a request to change things (after "please", "can you"…).
const CHANGE_VERBS: &[&str] = &[
    "add",
    "assign",
    "book",
    "cancel",
    "change",
    "copy",
    "create",
    "delete",
    "duplicate",
    "edit",
    "extend",
    "import",
    "make",
    "mark",
    "merge",
    "modify",
    "move",
    "refund",
    "remove",
    "rename",
    "reschedule",
    "schedule",
    "send",
    "set",
    "update",
    "upload",
];
/// Words a request may open with before its verb.
const OPENERS: &[&str] = &[
    "please", "can", "could", "would", "will", "you", "i", "we", "want", "need", "to", "help",
    "me", "us", "kindly", "let's", "lets", "go", "ahead", "and", "now",
];
/// Counts of two or more, in words.
const COUNT_WORDS: &[&str] = &[
    "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "several", "multiple",
];
/// Words read from a message to tell a task (its start says most).
const TASK_WORDS_READ: usize = 400;

/// Whether a message reads as a task rather than a question: it asks to change things (its
/// first word, after openers such as "please" or "can you", is a verb of change: create, add,
/// update, cancel, book…), or it names several items or days (a count of two or more, in
/// digits or words, followed within two words by a plural: "three products", "5 days").
/// English only; anything else reads as a question.
pub fn is_task(text: &str) -> bool {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .take(TASK_WORDS_READ)
        .map(task_word)
        .collect();
    let first = words.iter().find(|w| !OPENERS.contains(&w.as_str()));
    if first.is_some_and(|w| CHANGE_VERBS.contains(&w.as_str())) {
        return true;
    }
    words.iter().enumerate().any(|(i, w)| {
        let several = COUNT_WORDS.contains(&w.as_str()) || w.parse::<u32>().is_ok_and(|n| n >= 2);
        several
            && words[i + 1..]
                .iter()
                .take(2)
                .any(|next| next.chars().count() > 2 && next.ends_with('s'))
    })
}

/// A word as `is_task` reads it: what `str::to_lowercase` makes of it as far as `is_task`'s
/// checks can tell (equal to an ASCII word, a number, its length in characters, a final
/// `s`), without linking Unicode's case-mapping tables (about 12 KB of the package's
/// module). ASCII letters are lowercased, and the two characters whose lowercase is ASCII or
/// longer than one character are mapped as `to_lowercase` maps them (the Kelvin sign to `k`,
/// `İ` to `i̇`); every other character's lowercase is one character that is not ASCII, so it is
/// kept as it is (`task_words_read_as_lowercase_would` checks every character).
fn task_word(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.chars() {
        match c {
            '\u{212A}' => out.push('k'),
            '\u{130}' => out.push_str("i\u{307}"),
            c => out.push(c.to_ascii_lowercase()),
        }
    }
    out
}

/// What a message will cost and leave, as ranges.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MessageEstimate {
    pub model: String,
    pub billed_to: BilledTo,
    /// Whether the gate lets it through now.
    pub allowed: bool,
    pub rejection: Option<Rejection>,
    /// Whether it is estimated as an agent run of several rounds.
    pub agent: bool,
    /// Whether it reads as a task (see [`is_task`]): estimated in the catalogue's task rounds.
    pub task: bool,
    pub rounds: Range,
    pub input_tokens: Range,
    pub output_tokens: Range,
    /// Credits it will cost (0 when billed to an own key).
    pub credits: Range,
    /// What it would cost on credits, also when billed to an own key.
    pub would_be_credits: Range,
    /// The would-be AI cost in millionths of a US dollar.
    pub cost_usd_micros: Range,
    pub calibration: Calibration,
    /// Available credits now.
    pub available: Credits,
    /// Available credits after it: expected, and in the worst case (its high end).
    pub available_after_expected: Credits,
    pub available_after_worst: Credits,
    /// The worst case costs more than is available (the rest would be unpaid).
    pub worst_exceeds_available: bool,
    /// The sources it would draw from, for its expected and its worst cost.
    pub draws_expected: Vec<Draw>,
    pub draws_worst: Vec<Draw>,
}

fn percentile(sorted: &[u64], per_cent: u64) -> u64 {
    // Nearest rank: the smallest value with at least `per_cent`% of the samples at or below it.
    let n = sorted.len() as u64;
    let rank = (per_cent * n).div_ceil(100).max(1);
    sorted[(rank - 1) as usize]
}

impl Ledger {
    /// Output tokens of one answer for this feature and model, from the account's recent
    /// answers (the newest `history_samples_max` of each feature, model and pair, kept by the
    /// ledger as they arrive) or the catalogue's defaults.
    pub fn output_calibration(&self, feature: Option<&str>, model: &str) -> Calibration {
        let settings = &self.catalogue().estimation;
        let min = settings.history_samples_min as usize;
        let windows = self.output_samples();
        let samples_of = |map: &crate::sorted_map::SortedMap<crate::window::Samples>, key: &str| {
            map.get(key)
                .map(|s| s.output_tokens.iter().copied().collect::<Vec<u64>>())
                .unwrap_or_default()
        };
        let (by_both, by_feature) = match feature {
            Some(f) => (
                samples_of(
                    &windows.by_feature_model,
                    &crate::window::pair_key(f, model),
                ),
                samples_of(&windows.by_feature, f),
            ),
            None => (Vec::new(), Vec::new()),
        };
        let by_model = samples_of(&windows.by_model, model);
        let candidates = [
            (CalibrationSource::FeatureModel, by_both),
            (CalibrationSource::Feature, by_feature),
            (CalibrationSource::Model, by_model),
        ];
        for (source, samples) in candidates {
            if samples.len() >= min {
                // Heapsort through `BinaryHeap` (at most 256 samples): the standard library's
                // slice sorts are about 1.8 KB gzipped of the WebAssembly module per element
                // type, and this was the module's only sort of numbers (issue 13).
                let samples = std::collections::BinaryHeap::from(samples).into_sorted_vec();
                return Calibration {
                    source,
                    samples: samples.len() as u32,
                    output_tokens: Range {
                        low: percentile(&samples, 10),
                        expected: percentile(&samples, 50),
                        high: percentile(&samples, 90),
                    },
                };
            }
        }
        Calibration {
            source: CalibrationSource::Catalogue,
            samples: 0,
            output_tokens: settings.output_tokens,
        }
    }

    /// Estimates a message at `at` with a calibration (from `output_calibration`, which a
    /// caller typing many keystrokes keeps while the ledger does not change).
    pub fn estimate_message(
        &self,
        at: Instant,
        request: &MessageRequest,
        calibration: Calibration,
    ) -> Result<MessageEstimate, Rejection> {
        self.check_query_time(&at)?;
        let model = self
            .catalogue()
            .model(&request.model)
            .ok_or_else(|| unknown_model(&request.model))?;
        let settings = &self.catalogue().estimation;
        let agent = request
            .feature
            .as_ref()
            .is_some_and(|f| settings.agent.features.contains(f));
        let task = request.task && !agent;
        let rounds = if agent {
            settings.agent.rounds
        } else if task {
            settings.task_rounds
        } else {
            Range {
                low: 1,
                expected: 1,
                high: 1,
            }
        };
        let out = calibration.output_tokens;
        let text = request.text_tokens;
        let tool = if agent || task {
            settings.agent.tool_result_tokens
        } else {
            0
        };
        let instructions = settings.prompt_tokens_of(request.feature.as_deref());
        let shape = |rounds: u64, text_tokens: u64, output: u64| {
            let prompt = text_tokens
                .saturating_add(request.history_tokens)
                .saturating_add(instructions);
            let growth =
                (rounds * rounds.saturating_sub(1) / 2).saturating_mul(output.saturating_add(tool));
            Tokens {
                input: rounds.saturating_mul(prompt).saturating_add(growth),
                output: rounds.saturating_mul(output),
                ..Tokens::default()
            }
        };
        let low = shape(rounds.low, text.low, out.low);
        let expected = shape(rounds.expected, text.tokens, out.expected);
        let high = shape(rounds.high, text.high, out.high);
        let mut estimate =
            self.estimate_tokens(at, model, [low, expected, high], agent, rounds, calibration)?;
        estimate.task = task;
        Ok(estimate)
    }

    /// Estimates a quick action of the catalogue on `model`, at `at`.
    pub fn estimate_quick_action(
        &self,
        at: Instant,
        action: &QuickAction,
        model: &str,
    ) -> Result<MessageEstimate, Rejection> {
        self.check_query_time(&at)?;
        let found = self
            .catalogue()
            .model(model)
            .ok_or_else(|| unknown_model(model))?;
        let tokens = Tokens {
            input: action.input_tokens,
            output: action.output_tokens,
            ..Tokens::default()
        };
        let calibration = Calibration {
            source: CalibrationSource::Catalogue,
            samples: 0,
            output_tokens: Range {
                low: action.output_tokens,
                expected: action.output_tokens,
                high: action.output_tokens,
            },
        };
        let one = Range {
            low: 1,
            expected: 1,
            high: 1,
        };
        self.estimate_tokens(at, found, [tokens; 3], false, one, calibration)
    }

    fn estimate_tokens(
        &self,
        at: Instant,
        model: &Model,
        [low, expected, high]: [Tokens; 3],
        agent: bool,
        rounds: Range,
        calibration: Calibration,
    ) -> Result<MessageEstimate, Rejection> {
        let catalogue = self.catalogue();
        let millicredits = |t: &Tokens| model.cost_millicredits(t);
        let credits_of = |t: &Tokens| credits_from_millicredits(millicredits(t));
        let usd_of =
            |t: &Tokens| usd_micros_from_millicredits(millicredits(t), catalogue.credits_per_usd);
        let would_be_credits = Range {
            low: credits_of(&low),
            expected: credits_of(&expected),
            high: credits_of(&high),
        };
        let view = self.view(at);
        let available = view.available();
        let (billed_to, rejection) = gate(self.catalogue(), self.route(model), available);
        let credits = if billed_to == BilledTo::Credits {
            would_be_credits
        } else {
            Range::default()
        };
        let plan = |amount: Credits| {
            let mut plan = Vec::new();
            if rejection.is_none() && amount > 0 {
                view.plan_draws(amount.min(available), &mut plan);
            }
            self.to_draws(&plan)
        };
        Ok(MessageEstimate {
            model: model.id.clone(),
            billed_to,
            allowed: rejection.is_none(),
            agent,
            task: false,
            rounds,
            input_tokens: Range {
                low: low.input,
                expected: expected.input,
                high: high.input,
            },
            output_tokens: Range {
                low: low.output,
                expected: expected.output,
                high: high.output,
            },
            credits,
            would_be_credits,
            cost_usd_micros: Range {
                low: usd_of(&low),
                expected: usd_of(&expected),
                high: usd_of(&high),
            },
            calibration,
            available,
            available_after_expected: available.saturating_sub(credits.expected),
            available_after_worst: available.saturating_sub(credits.high),
            worst_exceeds_available: credits.high > available,
            draws_expected: plan(credits.expected),
            draws_worst: plan(credits.high),
            rejection,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `is_task` as it was written first, with `str::to_lowercase`.
    fn is_task_with_to_lowercase(text: &str) -> bool {
        let words: Vec<String> = text
            .split(|c: char| !c.is_alphanumeric() && c != '\'')
            .filter(|w| !w.is_empty())
            .take(TASK_WORDS_READ)
            .map(str::to_lowercase)
            .collect();
        let first = words.iter().find(|w| !OPENERS.contains(&w.as_str()));
        if first.is_some_and(|w| CHANGE_VERBS.contains(&w.as_str())) {
            return true;
        }
        words.iter().enumerate().any(|(i, w)| {
            let several =
                COUNT_WORDS.contains(&w.as_str()) || w.parse::<u32>().is_ok_and(|n| n >= 2);
            several
                && words[i + 1..]
                    .iter()
                    .take(2)
                    .any(|next| next.chars().count() > 2 && next.ends_with('s'))
        })
    }

    #[test]
    fn task_words_read_as_lowercase_would() {
        // Proves, for every Unicode character, that task_word and to_lowercase agree on all is_task looks at: ASCII or not (and then the same text), the length in characters, and a final 's'.
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            let (mine, theirs) = (
                task_word(c.encode_utf8(&mut [0; 4])),
                c.to_lowercase().to_string(),
            );
            assert_eq!(mine.is_ascii(), theirs.is_ascii(), "{c:?}");
            if theirs.is_ascii() {
                assert_eq!(mine, theirs, "{c:?}");
            }
            assert_eq!(mine.chars().count(), theirs.chars().count(), "{c:?}");
            assert_eq!(mine.ends_with('s'), theirs.ends_with('s'), "{c:?}");
        }
    }

    #[test]
    fn is_task_reads_messages_as_with_to_lowercase() {
        // Proves is_task gives to_lowercase's answers on messages that mix cases, the Kelvin sign, dotted capital I, Greek sigma and counts.
        let messages = [
            "Create a booking for Saturday",
            "CREATE three PRODUCTS",
            "please \u{212A}EEP it",
            "Boo\u{212A} two rooms",
            "two \u{130}s",
            "2 ΣΣs dayS",
            "What is 5 DAYS of rentals?",
            "could you UPDATE",
            "ΣΣΣ",
            "İİ 3 İİS",
            "Let's MOVE",
        ];
        for m in messages {
            assert_eq!(is_task(m), is_task_with_to_lowercase(m), "{m}");
        }
    }

    #[cfg(not(target_arch = "wasm32"))]
    proptest::proptest! {
        #[test]
        fn is_task_agrees_with_to_lowercase_on_any_text(
            text in "((?i)(please|can|you|create|book|two|three|[0-9]{1,3}|days|items|s)|[\u{130}\u{212A}Σσß ,.'a-zA-Z]|\\PC){0,24}"
        ) {
            // Proves is_task equals the to_lowercase version on generated text mixing openers, verbs, counts, plurals and special characters.
            proptest::prop_assert_eq!(is_task(&text), is_task_with_to_lowercase(&text));
        }
    }
}

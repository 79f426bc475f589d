//! Raw usage payloads as the providers return them, normalised to [`Tokens`]: every token
//! counted once, cached input and cache writes apart from fresh input, reasoning ("thinking")
//! tokens as output.
//!
//! The shapes, from each provider's API documentation:
//!
//! - **OpenAI Chat Completions** (also xAI and Moonshot, which speak it):
//!   `{prompt_tokens, completion_tokens, total_tokens, prompt_tokens_details: {cached_tokens},
//!   completion_tokens_details: {reasoning_tokens}}`. `prompt_tokens` includes the cached
//!   tokens. OpenAI counts reasoning inside `completion_tokens`; xAI bills reasoning as
//!   completion tokens but reports it beside them. `total_tokens` tells which: when it equals
//!   prompt + completion + reasoning (with reasoning above 0), reasoning is added to the output.
//!   Moonshot may report `cached_tokens` at the top level of `usage`.
//! - **OpenAI Responses** (also xAI's): `{input_tokens, input_tokens_details: {cached_tokens},
//!   output_tokens, output_tokens_details: {reasoning_tokens}}`: input includes cached, output
//!   includes reasoning.
//! - **Anthropic Messages**: `{input_tokens, cache_creation_input_tokens,
//!   cache_read_input_tokens, output_tokens}`: `input_tokens` excludes both cache figures;
//!   extended thinking is inside `output_tokens`.
//! - **Gemini** `usageMetadata`: `{promptTokenCount, cachedContentTokenCount,
//!   candidatesTokenCount, thoughtsTokenCount, toolUsePromptTokenCount}`: the prompt count
//!   includes the cached content; thoughts are reported apart from the candidates and billed
//!   as output; tool-use prompt tokens are input.
//!
//! A whole response (`{"usage": …}` or `{"usageMetadata": …}`) is accepted as well as the usage
//! object itself.

use serde_json::Value;

use crate::event::Tokens;
use crate::units::TOKENS_PER_FIELD_MAX;

/// Reads a provider usage payload into token counts; an error says what is wrong with it.
pub fn normalize(payload: &Value) -> Result<Tokens, String> {
    let usage = payload
        .get("usage")
        .or_else(|| payload.get("usageMetadata"))
        .filter(|u| u.is_object())
        .unwrap_or(payload);
    let o = usage
        .as_object()
        .ok_or("`provider_usage` must be a provider's usage object")?;
    let tokens = if o.contains_key("promptTokenCount") || o.contains_key("candidatesTokenCount") {
        gemini(usage)?
    } else if o.contains_key("prompt_tokens") || o.contains_key("completion_tokens") {
        chat_completions(usage)?
    } else if o.contains_key("input_tokens") || o.contains_key("output_tokens") {
        // Anthropic's and the Responses API's shapes share these two names; their extra fields
        // differ, and without any extra field they mean the same thing.
        messages_or_responses(usage)?
    } else {
        return Err("`provider_usage` is not a usage shape this version reads (OpenAI, Anthropic, Gemini, Moonshot, xAI)".into());
    };
    for count in [
        tokens.input,
        tokens.cached_input,
        tokens.cache_write,
        tokens.output,
    ] {
        if count > TOKENS_PER_FIELD_MAX {
            return Err(format!(
                "`provider_usage` counts more than {TOKENS_PER_FIELD_MAX} tokens of one kind"
            ));
        }
    }
    Ok(tokens)
}

/// A count at `path` (keys into nested objects); absent or null is 0.
fn count(usage: &Value, path: &[&str]) -> Result<u64, String> {
    let mut value = usage;
    for key in path {
        match value.get(key) {
            Some(v) if !v.is_null() => value = v,
            _ => return Ok(0),
        }
    }
    value
        .as_number()
        .filter(|n| n.is_u64())
        .and_then(|n| n.as_u64())
        .ok_or_else(|| {
            // Joined by hand: `[&str]::join` was 1 KB of the WebAssembly module (issue 13).
            let mut name = String::from("provider_usage");
            for key in path {
                name.push('.');
                name.push_str(key);
            }
            format!("`{name}` must be a whole number ≥ 0")
        })
}

fn part_of(total: u64, part: u64, what: &str) -> Result<u64, String> {
    total
        .checked_sub(part)
        .ok_or_else(|| format!("`provider_usage` reports more {what} tokens than prompt tokens"))
}

fn chat_completions(u: &Value) -> Result<Tokens, String> {
    let prompt = count(u, &["prompt_tokens"])?;
    let completion = count(u, &["completion_tokens"])?;
    let cached =
        count(u, &["prompt_tokens_details", "cached_tokens"])?.max(count(u, &["cached_tokens"])?);
    let reasoning = count(u, &["completion_tokens_details", "reasoning_tokens"])?;
    let total = count(u, &["total_tokens"])?;
    let reasoning_apart =
        reasoning > 0 && total == prompt.saturating_add(completion).saturating_add(reasoning);
    Ok(Tokens {
        estimated: false,
        input: part_of(prompt, cached, "cached")?,
        cached_input: cached,
        cache_write: 0,
        output: if reasoning_apart {
            completion.saturating_add(reasoning)
        } else {
            completion
        },
    })
}

fn messages_or_responses(u: &Value) -> Result<Tokens, String> {
    let input = count(u, &["input_tokens"])?;
    let output = count(u, &["output_tokens"])?;
    if u.get("input_tokens_details").is_some() || u.get("output_tokens_details").is_some() {
        // Responses API: input includes cached, output includes reasoning.
        let cached = count(u, &["input_tokens_details", "cached_tokens"])?;
        return Ok(Tokens {
            estimated: false,
            input: part_of(input, cached, "cached")?,
            cached_input: cached,
            cache_write: 0,
            output,
        });
    }
    // Anthropic: the cache figures are beside the input, not inside it.
    Ok(Tokens {
        estimated: false,
        input,
        cached_input: count(u, &["cache_read_input_tokens"])?,
        cache_write: count(u, &["cache_creation_input_tokens"])?,
        output,
    })
}

fn gemini(u: &Value) -> Result<Tokens, String> {
    let prompt = count(u, &["promptTokenCount"])?;
    let cached = count(u, &["cachedContentTokenCount"])?;
    let tool_prompt = count(u, &["toolUsePromptTokenCount"])?;
    Ok(Tokens {
        estimated: false,
        input: part_of(prompt, cached, "cached")?.saturating_add(tool_prompt),
        cached_input: cached,
        cache_write: 0,
        output: count(u, &["candidatesTokenCount"])?
            .saturating_add(count(u, &["thoughtsTokenCount"])?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tokens(input: u64, cached_input: u64, cache_write: u64, output: u64) -> Tokens {
        Tokens {
            input,
            cached_input,
            cache_write,
            output,
            estimated: false,
        }
    }

    #[test]
    fn openai_chat_completions_counts_cached_once_and_reasoning_as_output() {
        // Proves OpenAI's chat usage: cached inside prompt_tokens, reasoning inside completion_tokens.
        let usage = json!({"prompt_tokens": 1486, "completion_tokens": 651, "total_tokens": 2137,
            "prompt_tokens_details": {"cached_tokens": 1408, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 512, "audio_tokens": 0,
                "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}});
        assert_eq!(normalize(&usage), Ok(tokens(78, 1408, 0, 651)));
        // A whole response object is read through its `usage`.
        assert_eq!(
            normalize(&json!({"id": "chatcmpl-1", "object": "chat.completion", "usage": usage})),
            Ok(tokens(78, 1408, 0, 651))
        );
    }

    #[test]
    fn openai_responses_counts_cached_once() {
        // Proves the Responses API shape: input_tokens includes cached, output includes reasoning.
        let usage = json!({"input_tokens": 328, "input_tokens_details": {"cached_tokens": 256},
            "output_tokens": 52, "output_tokens_details": {"reasoning_tokens": 32}, "total_tokens": 380});
        assert_eq!(normalize(&usage), Ok(tokens(72, 256, 0, 52)));
    }

    #[test]
    fn anthropic_cache_reads_and_writes_are_beside_the_input() {
        // Proves Anthropic's shape: input_tokens excludes cache reads and cache writes.
        let usage = json!({"input_tokens": 21, "cache_creation_input_tokens": 188086,
            "cache_read_input_tokens": 0, "output_tokens": 393,
            "cache_creation": {"ephemeral_5m_input_tokens": 188086, "ephemeral_1h_input_tokens": 0},
            "service_tier": "standard"});
        assert_eq!(normalize(&usage), Ok(tokens(21, 0, 188086, 393)));
        let read = json!({"usage": {"input_tokens": 50, "cache_read_input_tokens": 188086, "output_tokens": 100}});
        assert_eq!(normalize(&read), Ok(tokens(50, 188086, 0, 100)));
    }

    #[test]
    fn gemini_thoughts_are_output_and_cached_content_is_inside_the_prompt() {
        // Proves Gemini's usageMetadata: prompt includes cached content; thoughts billed as output.
        let response = json!({"candidates": [], "usageMetadata": {"promptTokenCount": 1200,
            "cachedContentTokenCount": 1000, "candidatesTokenCount": 80, "thoughtsTokenCount": 420,
            "totalTokenCount": 1700}});
        assert_eq!(normalize(&response), Ok(tokens(200, 1000, 0, 500)));
    }

    #[test]
    fn xai_reports_reasoning_beside_the_completion() {
        // Proves an OpenAI-shaped usage whose total counts reasoning apart (xAI) adds it to output.
        let usage = json!({"prompt_tokens": 125, "completion_tokens": 48, "total_tokens": 473,
            "prompt_tokens_details": {"text_tokens": 125, "audio_tokens": 0, "image_tokens": 0, "cached_tokens": 98},
            "completion_tokens_details": {"reasoning_tokens": 300, "audio_tokens": 0,
                "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}});
        assert_eq!(normalize(&usage), Ok(tokens(27, 98, 0, 348)));
    }

    #[test]
    fn moonshot_reports_cached_tokens_at_the_top_level() {
        // Proves Moonshot's chat usage with a top-level cached_tokens count.
        let usage = json!({"prompt_tokens": 2000, "completion_tokens": 150, "total_tokens": 2150, "cached_tokens": 1536});
        assert_eq!(normalize(&usage), Ok(tokens(464, 1536, 0, 150)));
    }

    #[test]
    fn malformed_payloads_are_refused_with_a_reason() {
        // Proves negative, fractional or inconsistent counts and unknown shapes are errors.
        for bad in [
            json!({"prompt_tokens": -1, "completion_tokens": 1}),
            json!({"input_tokens": 1.5, "output_tokens": 1}),
            json!({"prompt_tokens": 10, "completion_tokens": 1, "prompt_tokens_details": {"cached_tokens": 11}}),
            json!({"tokens": 5}),
            json!("12 tokens"),
            json!({"input_tokens": 100_000_001u64, "output_tokens": 0}),
        ] {
            assert!(normalize(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_bad_nested_count_is_named_by_its_path() {
        // Proves the refusal of a nested count names the field by its dotted path.
        let usage = json!({"prompt_tokens": 10, "completion_tokens": 1, "prompt_tokens_details": {"cached_tokens": "2"}});
        assert_eq!(
            normalize(&usage),
            Err(
                "`provider_usage.prompt_tokens_details.cached_tokens` must be a whole number ≥ 0"
                    .to_owned()
            )
        );
    }
}

//! What the gateway needs to know of each provider's API (from their documentation): which
//! paths it forwards, where the model and the output bound are in a request, how the key is
//! sent, and where the usage is in an answer and in a stream (SSE).
//!
//! - OpenAI Chat Completions (also xAI's and Moonshot's OpenAI-compatible APIs):
//!   `POST {base}/v1/chat/completions`, `Authorization: Bearer KEY`; `model`,
//!   `max_completion_tokens` or `max_tokens`; a stream's usage comes in a last chunk (empty
//!   `choices`, a `usage` object) when `stream_options.include_usage` is set.
//! - OpenAI Responses (also xAI's): `POST {base}/v1/responses`, `Authorization: Bearer KEY`;
//!   `model`, `max_output_tokens`; a stream's `response.completed` event carries the response
//!   with its `usage`, text arrives as `response.output_text.delta`.
//! - Google Gemini: `POST {base}/v1beta/models/{model}:generateContent`, and
//!   `…:streamGenerateContent?alt=sse` for a stream, `x-goog-api-key: KEY`;
//!   `generationConfig.maxOutputTokens`; the answer's (and each stream chunk's)
//!   `usageMetadata` holds the usage so far.
//! - Anthropic Messages: `POST {base}/v1/messages`, `x-api-key: KEY`, `anthropic-version`;
//!   `model`, `max_tokens`; a stream's `message_start` carries the input usage and each
//!   `message_delta` the output tokens so far.

use serde_json::{Map, Value};

/// How a provider's API is called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    /// OpenAI's Chat Completions, and the APIs that speak it.
    ChatCompletions,
    /// OpenAI's Responses.
    Responses,
    /// Anthropic's Messages.
    Messages,
    /// Google's `generateContent` (the model is in the path).
    GenerateContent,
    /// Google's `streamGenerateContent`, as server-sent events.
    StreamGenerateContent,
}

impl Api {
    /// The API of `provider` at `path` (what follows `/providers/{provider}/`), if the gateway
    /// forwards it, and the model when the path names it (Google's).
    pub fn of(provider: &str, path: &str) -> Option<(Api, Option<String>)> {
        let path = path
            .trim_start_matches('/')
            .trim_start_matches("v1/")
            .trim_start_matches("v1beta/");
        match (provider, path) {
            ("openai" | "xai" | "moonshot", "chat/completions") => {
                Some((Api::ChatCompletions, None))
            }
            ("openai" | "xai", "responses") => Some((Api::Responses, None)),
            ("anthropic", "messages") => Some((Api::Messages, None)),
            ("google", _) => {
                let (model, method) = path.strip_prefix("models/")?.split_once(':')?;
                let api = match method {
                    "generateContent" => Api::GenerateContent,
                    "streamGenerateContent" => Api::StreamGenerateContent,
                    _ => return None,
                };
                (!model.is_empty() && !model.contains('/')).then(|| (api, Some(model.to_owned())))
            }
            _ => None,
        }
    }

    /// The upstream path (and query) under the provider's base URL.
    pub fn path(self, model: &str) -> String {
        match self {
            Api::ChatCompletions => "/v1/chat/completions".to_owned(),
            Api::Responses => "/v1/responses".to_owned(),
            Api::Messages => "/v1/messages".to_owned(),
            Api::GenerateContent => format!("/v1beta/models/{model}:generateContent"),
            Api::StreamGenerateContent => {
                format!("/v1beta/models/{model}:streamGenerateContent?alt=sse")
            }
        }
    }

    /// The usage of a whole answer.
    pub fn usage_of(self, answer: &Value) -> Option<Value> {
        let key = match self {
            Api::GenerateContent | Api::StreamGenerateContent => "usageMetadata",
            _ => "usage",
        };
        answer.get(key).filter(|u| u.is_object()).cloned()
    }

    /// The most output tokens the request allows, when it says.
    pub fn max_output_tokens(self, body: &Map<String, Value>) -> Option<u64> {
        let field = |name: &str| body.get(name).and_then(Value::as_u64);
        match self {
            Api::ChatCompletions => field("max_completion_tokens").or_else(|| field("max_tokens")),
            Api::Responses => field("max_output_tokens"),
            Api::Messages => field("max_tokens"),
            Api::GenerateContent | Api::StreamGenerateContent => body
                .get("generationConfig")
                .and_then(|c| c.get("maxOutputTokens"))
                .and_then(Value::as_u64),
        }
    }

    /// The person's message: the text of the request's last user turn (for the conversation
    /// the call is recorded in).
    pub fn last_user_text(self, body: &Map<String, Value>) -> String {
        let turns = match self {
            Api::ChatCompletions | Api::Messages => body.get("messages"),
            Api::Responses => match body.get("input") {
                Some(Value::String(text)) => return text.clone(),
                input => input,
            },
            Api::GenerateContent | Api::StreamGenerateContent => body.get("contents"),
        };
        let last = turns
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .rev()
            .find(|turn| turn.get("role").and_then(Value::as_str).unwrap_or("user") == "user");
        let Some(turn) = last else {
            return String::new();
        };
        let content = match self {
            Api::GenerateContent | Api::StreamGenerateContent => turn.get("parts"),
            _ => turn.get("content"),
        };
        match content {
            Some(Value::String(text)) => text.clone(),
            Some(Value::Array(parts)) => texts_of(parts),
            _ => String::new(),
        }
    }

    /// The text of a whole answer.
    pub fn answer_text(self, answer: &Value) -> String {
        match self {
            Api::ChatCompletions => answer["choices"][0]["message"]["content"]
                .as_str()
                .unwrap_or("")
                .to_owned(),
            Api::Responses => answer["output"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|item| item["content"].as_array())
                .map(|parts| texts_of(parts))
                .collect::<Vec<_>>()
                .join(""),
            Api::Messages => texts_of(answer["content"].as_array().map_or(&[][..], Vec::as_slice)),
            Api::GenerateContent | Api::StreamGenerateContent => texts_of(
                answer["candidates"][0]["content"]["parts"]
                    .as_array()
                    .map_or(&[][..], Vec::as_slice),
            ),
        }
    }

    /// Whether the request asks for a stream.
    pub fn streams(self, body: &Map<String, Value>) -> bool {
        match self {
            Api::StreamGenerateContent => true,
            Api::GenerateContent => false,
            _ => body.get("stream").and_then(Value::as_bool) == Some(true),
        }
    }

    /// Makes a streamed request report its usage; whether the caller had asked for it itself
    /// (if not, the usage chunk is taken out of what the caller receives).
    pub fn ask_for_usage(self, body: &mut Map<String, Value>) -> bool {
        match self {
            Api::ChatCompletions => {
                let options = body
                    .entry("stream_options")
                    .or_insert_with(|| Value::Object(Map::new()));
                let Value::Object(options) = options else {
                    return true;
                };
                let asked = options.get("include_usage").and_then(Value::as_bool) == Some(true);
                options.insert("include_usage".into(), Value::Bool(true));
                asked
            }
            // The other streams always carry their usage.
            Api::Messages | Api::Responses | Api::GenerateContent | Api::StreamGenerateContent => {
                true
            }
        }
    }
}

/// The `text` of each part, joined (content parts of every API carry their text there).
fn texts_of(parts: &[Value]) -> String {
    parts
        .iter()
        .filter_map(|part| part.get("text").and_then(Value::as_str))
        .collect()
}

/// Every string the request sends to the model (messages, system prompt, tool definitions),
/// for estimating its input tokens: the text of string values under the request's content.
pub fn request_text(body: &Map<String, Value>) -> String {
    let mut text = String::new();
    for key in [
        "system",
        "messages",
        "tools",
        "input",
        "instructions",
        "contents",
        "systemInstruction",
    ] {
        if let Some(value) = body.get(key) {
            collect_strings(value, &mut text);
        }
    }
    text
}

fn collect_strings(value: &Value, out: &mut String) {
    match value {
        Value::String(s) => {
            out.push_str(s);
            out.push('\n');
        }
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        Value::Object(o) => o.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

/// Reads a stream's server-sent events as they arrive: the usage they report, the text they
/// carry (for an estimate when no usage comes), and which lines to pass on.
#[derive(Default)]
pub struct StreamReader {
    pending: Vec<u8>,
    /// The usage reported so far, as the provider's own usage object (merged for Anthropic).
    pub usage: Option<Value>,
    /// The text streamed so far.
    pub text: String,
}

impl StreamReader {
    /// Takes a chunk from the provider; returns the bytes to pass to the caller (whole lines,
    /// without a usage chunk the caller did not ask for).
    pub fn read(&mut self, api: Api, chunk: &[u8], keep_usage_chunk: bool) -> Vec<u8> {
        self.pending.extend_from_slice(chunk);
        let mut out = Vec::with_capacity(self.pending.len());
        while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            if self.take_line(api, &line) || keep_usage_chunk {
                out.extend_from_slice(&line);
            }
        }
        out
    }

    /// What is left when the stream ends (a last line without its newline).
    pub fn finish(&mut self, api: Api, keep_usage_chunk: bool) -> Vec<u8> {
        let line = std::mem::take(&mut self.pending);
        if line.is_empty() {
            return line;
        }
        if self.take_line(api, &line) || keep_usage_chunk {
            line
        } else {
            Vec::new()
        }
    }

    /// Reads one line; false for a usage-only chunk (the caller may not have asked for it).
    fn take_line(&mut self, api: Api, line: &[u8]) -> bool {
        let text = String::from_utf8_lossy(line);
        let Some(data) = text.trim_end().strip_prefix("data:") else {
            return true;
        };
        let Ok(event) = serde_json::from_str::<Value>(data.trim()) else {
            return true;
        };
        match api {
            Api::ChatCompletions => {
                for choice in event["choices"].as_array().into_iter().flatten() {
                    if let Some(piece) = choice["delta"]["content"].as_str() {
                        self.text.push_str(piece);
                    }
                }
                if event["usage"].is_object() {
                    self.usage = Some(event["usage"].clone());
                    // The chunk OpenAI adds for `include_usage` has no choices.
                    return !event["choices"].as_array().is_some_and(Vec::is_empty);
                }
                true
            }
            Api::Responses => {
                match event["type"].as_str() {
                    Some("response.output_text.delta") => {
                        if let Some(piece) = event["delta"].as_str() {
                            self.text.push_str(piece);
                        }
                    }
                    Some("response.completed") if event["response"]["usage"].is_object() => {
                        self.usage = Some(event["response"]["usage"].clone());
                    }
                    _ => {}
                }
                true
            }
            Api::GenerateContent | Api::StreamGenerateContent => {
                for candidate in event["candidates"].as_array().into_iter().flatten() {
                    for part in candidate["content"]["parts"]
                        .as_array()
                        .into_iter()
                        .flatten()
                    {
                        if let Some(piece) = part["text"].as_str() {
                            self.text.push_str(piece);
                        }
                    }
                }
                // Each chunk's usageMetadata holds the usage so far.
                if event["usageMetadata"].is_object() {
                    self.usage = Some(event["usageMetadata"].clone());
                }
                true
            }
            Api::Messages => {
                match event["type"].as_str() {
                    Some("message_start") => {
                        self.usage = Some(event["message"]["usage"].clone());
                    }
                    Some("message_delta") => {
                        if let (Some(Value::Object(usage)), Some(Value::Object(delta))) =
                            (self.usage.as_mut(), event.get("usage"))
                        {
                            for (k, v) in delta {
                                usage.insert(k.clone(), v.clone());
                            }
                        }
                    }
                    Some("content_block_delta") => {
                        if let Some(piece) = event["delta"]["text"].as_str() {
                            self.text.push_str(piece);
                        }
                    }
                    _ => {}
                }
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_persons_message_and_the_answers_text_are_read_in_every_api() {
        // Proves the last user turn's text and a whole answer's text are found in each API's documented shape (plain strings and content parts).
        let obj = |v: Value| v.as_object().unwrap().clone();
        let chat = obj(json!({"messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": [{"type": "text", "text": "How many "}, {"type": "text", "text": "bookings?"}]},
        ]}));
        assert_eq!(
            Api::ChatCompletions.last_user_text(&chat),
            "How many bookings?"
        );
        assert_eq!(Api::Messages.last_user_text(&chat), "How many bookings?");
        assert_eq!(
            Api::Responses.last_user_text(&obj(json!({"input": "plain"}))),
            "plain"
        );
        let responses = obj(
            json!({"input": [{"role": "user", "content": [{"type": "input_text", "text": "parts"}]}]}),
        );
        assert_eq!(Api::Responses.last_user_text(&responses), "parts");
        let gemini = obj(
            json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}, {"role": "model", "parts": [{"text": "yo"}]}]}),
        );
        assert_eq!(Api::GenerateContent.last_user_text(&gemini), "hi");
        assert_eq!(Api::ChatCompletions.last_user_text(&obj(json!({}))), "");

        let answer = json!({"choices": [{"message": {"content": "Twelve."}}]});
        assert_eq!(Api::ChatCompletions.answer_text(&answer), "Twelve.");
        let answer = json!({"output": [{"type": "reasoning"}, {"type": "message", "content": [{"type": "output_text", "text": "Twe"}, {"type": "output_text", "text": "lve."}]}]});
        assert_eq!(Api::Responses.answer_text(&answer), "Twelve.");
        let answer = json!({"content": [{"type": "text", "text": "Twelve."}, {"type": "tool_use", "id": "t"}]});
        assert_eq!(Api::Messages.answer_text(&answer), "Twelve.");
        let answer = json!({"candidates": [{"content": {"parts": [{"text": "Twelve."}]}}]});
        assert_eq!(Api::GenerateContent.answer_text(&answer), "Twelve.");
    }

    #[test]
    fn an_openai_stream_reports_its_usage_and_hides_the_chunk_nobody_asked_for() {
        // Proves the usage chunk is read and taken out of what the caller gets when it did not ask for it, even split across reads.
        let stream = "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}\n\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2}}\n\ndata: [DONE]\n\n";
        let mut reader = StreamReader::default();
        let mut out = Vec::new();
        for piece in stream.as_bytes().chunks(7) {
            out.extend(reader.read(Api::ChatCompletions, piece, false));
        }
        out.extend(reader.finish(Api::ChatCompletions, false));
        let out = String::from_utf8(out).unwrap();
        assert!(!out.contains("usage") && out.contains("[DONE]"), "{out}");
        assert_eq!(reader.usage.unwrap()["completion_tokens"], 2);
        assert_eq!(reader.text, "Hello");
    }

    #[test]
    fn a_responses_stream_reports_the_usage_of_its_completed_response() {
        // Proves response.completed's usage is read and the text deltas are kept.
        let stream = "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"Hi\"}\n\nevent: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"usage\":{\"input_tokens\":40,\"output_tokens\":7}}}\n\n";
        let mut reader = StreamReader::default();
        assert_eq!(
            reader.read(Api::Responses, stream.as_bytes(), false),
            stream.as_bytes()
        );
        assert_eq!(reader.usage.unwrap()["output_tokens"], 7);
        assert_eq!(reader.text, "Hi");
    }

    #[test]
    fn an_anthropic_stream_adds_its_output_to_the_input_of_message_start() {
        // Proves message_start's input usage and message_delta's output tokens make one usage.
        let stream = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":25,\"cache_read_input_tokens\":5,\"output_tokens\":1}}}\n\nevent: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\nevent: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":15}}\n\n";
        let mut reader = StreamReader::default();
        let out = reader.read(Api::Messages, stream.as_bytes(), false);
        assert_eq!(out, stream.as_bytes());
        let usage = reader.usage.unwrap();
        assert_eq!(
            (
                usage["input_tokens"].as_u64(),
                usage["output_tokens"].as_u64()
            ),
            (Some(25), Some(15))
        );
        assert_eq!(reader.text, "Hi");
    }
}

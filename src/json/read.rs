//! JSON text into `serde_json::Value`, without serde's deserializer.
//!
//! Every document the core reads (events, catalogues, checkpoints, scenarios, what JS hands
//! the WebAssembly facade) is read here, instead of by serde_json's `Deserializer` and the
//! visitor code it brings for each target type: the same trees, and 7.6 KB less of the gzipped
//! WebAssembly module (issue 13).
//!
//! It accepts exactly what `serde_json::from_str::<Value>` accepts and builds the same tree
//! (the property tests at the end check both against each other):
//!
//! - white space is space, tab, line feed and carriage return; nothing may follow the value;
//! - a string may not hold a control character (below U+0020) unescaped; `\u` escapes of a
//!   surrogate must come as a pair;
//! - an integer is a `u64` when it is not negative and fits, an `i64` when it is negative and
//!   fits (`-0` is the float `-0.0`, as serde_json has it); any other number is an `f64`, and
//!   one beyond the float range is refused;
//! - arrays and objects nest at most 127 deep;
//! - a key given twice keeps its last value.
//!
//! One difference: a float of many digits or a large exponent may be read a few units in the
//! last place away from serde_json's reading of it (neither is correctly rounded there; see
//! `float`). No amount of money is a float (floats are refused where a count is read), so the
//! difference can only show in a message or an event's extra field that quotes such a number.

use std::borrow::Cow;
use std::fmt;

use serde_json::{Map, Number, Value};

/// Nesting of arrays and objects, as serde_json's default recursion limit counts it.
const DEPTH_MAX: usize = 127;

/// Why a text is not a JSON document, and where (1-based line and column, in bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    what: &'static str,
    line: usize,
    column: usize,
}

impl ParseError {
    /// What is wrong, without the position.
    pub fn what(&self) -> &'static str {
        self.what
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at line {} column {}",
            self.what, self.line, self.column
        )
    }
}

impl std::error::Error for ParseError {}

/// Reads one JSON document.
pub fn parse(text: &str) -> Result<Value, ParseError> {
    let mut reader = Reader::new(text);
    let value = reader.value(0)?;
    reader.end()?;
    Ok(value)
}

/// An item of a list read by [`parse_list`].
pub enum Item<'b, 'a> {
    /// An object, as its members in document order (a key given twice is there twice; keys
    /// without escapes are borrowed from the text). The buffer is emptied before each object
    /// and may be drained.
    Object(&'b mut Vec<(Cow<'a, str>, Value)>),
    /// Anything else.
    Other(Value),
}

/// Reads a JSON array one item at a time, handing each to `item`: a long list is never held
/// as one tree, and an object's members are handed over without building its map (the event
/// reader takes them as they are). `Ok(false)`: the document is valid JSON but not an array.
pub fn parse_list<'a>(
    text: &'a str,
    mut item: impl FnMut(Item<'_, 'a>),
) -> Result<bool, ParseError> {
    let mut reader = Reader::new(text);
    reader.skip_space();
    let is_list = reader.peek() == Some(b'[');
    if is_list {
        reader.pos += 1;
        let mut members = Vec::new();
        reader.items(|r| {
            r.skip_space();
            if r.peek() == Some(b'{') {
                r.pos += 1;
                members.clear();
                r.members(2, |k, v| members.push((k, v)))?;
                item(Item::Object(&mut members));
            } else {
                item(Item::Other(r.value(1)?));
            }
            Ok(())
        })?;
    } else {
        reader.value(0)?;
    }
    reader.end()?;
    Ok(is_list)
}

struct Reader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(text: &'a str) -> Reader<'a> {
        Reader {
            text,
            bytes: text.as_bytes(),
            pos: 0,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    fn skip_space(&mut self) {
        let rest = &self.bytes[self.pos..];
        self.pos += rest
            .iter()
            .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
            .unwrap_or(rest.len());
    }

    /// An error at the byte just read (or the end).
    fn error(&self, what: &'static str) -> ParseError {
        let upto = &self.bytes[..self.pos.min(self.bytes.len())];
        let line_start = upto.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        ParseError {
            what,
            line: 1 + upto.iter().filter(|&&b| b == b'\n').count(),
            column: upto.len() - line_start,
        }
    }

    /// An error at the byte about to be read.
    fn error_before(&mut self, what: &'static str) -> ParseError {
        self.pos = (self.pos + 1).min(self.bytes.len());
        self.error(what)
    }

    fn end(&mut self) -> Result<(), ParseError> {
        self.skip_space();
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(self.error_before("trailing characters")),
        }
    }

    /// One value; `depth` is how many arrays and objects enclose it.
    fn value(&mut self, depth: usize) -> Result<Value, ParseError> {
        self.skip_space();
        let Some(b) = self.peek() else {
            return Err(self.error("EOF while parsing a value"));
        };
        match b {
            b'n' => self.word("null", Value::Null),
            b't' => self.word("true", Value::Bool(true)),
            b'f' => self.word("false", Value::Bool(false)),
            b'"' => {
                self.pos += 1;
                self.string().map(Value::String)
            }
            b'-' | b'0'..=b'9' => self.number(),
            b'[' | b'{' if depth >= DEPTH_MAX => Err(self.error_before("recursion limit exceeded")),
            b'[' => {
                self.pos += 1;
                self.array(depth + 1)
            }
            b'{' => {
                self.pos += 1;
                self.object(depth + 1)
            }
            _ => Err(self.error_before("expected value")),
        }
    }

    fn word(&mut self, word: &'static str, value: Value) -> Result<Value, ParseError> {
        for &expected in word.as_bytes() {
            match self.peek() {
                Some(b) if b == expected => self.pos += 1,
                Some(_) => return Err(self.error_before("expected ident")),
                None => return Err(self.error("EOF while parsing a value")),
            }
        }
        Ok(value)
    }

    fn array(&mut self, depth: usize) -> Result<Value, ParseError> {
        let mut items = Vec::new();
        self.items(|r| {
            items.push(r.value(depth)?);
            Ok(())
        })?;
        Ok(Value::Array(items))
    }

    /// The items of an array whose `[` was read, up to its `]`, each read by `element`.
    fn items(
        &mut self,
        mut element: impl FnMut(&mut Self) -> Result<(), ParseError>,
    ) -> Result<(), ParseError> {
        self.skip_space();
        match self.peek() {
            Some(b']') => {
                self.pos += 1;
                return Ok(());
            }
            None => return Err(self.error("EOF while parsing a list")),
            Some(_) => {}
        }
        loop {
            element(self)?;
            if self.comma_or_close(b']', "EOF while parsing a list", "expected `,` or `]`")? {
                return Ok(());
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, ParseError> {
        let mut map = Map::new();
        self.members(depth, |k, v| {
            map.insert(k.into_owned(), v);
        })?;
        Ok(Value::Object(map))
    }

    /// The members of an object whose `{` was read, up to its `}`, in document order.
    fn members(
        &mut self,
        depth: usize,
        mut member: impl FnMut(Cow<'a, str>, Value),
    ) -> Result<(), ParseError> {
        self.skip_space();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.skip_space();
            match self.next() {
                Some(b'"') => {}
                None => return Err(self.error("EOF while parsing an object")),
                Some(_) => return Err(self.error("key must be a string")),
            }
            let key = self.text_of_string()?;
            self.skip_space();
            match self.next() {
                Some(b':') => {}
                None => return Err(self.error("EOF while parsing an object")),
                Some(_) => return Err(self.error("expected `:`")),
            }
            let value = self.value(depth)?;
            member(key, value);
            if self.comma_or_close(b'}', "EOF while parsing an object", "expected `,` or `}`")? {
                return Ok(());
            }
        }
    }

    /// What follows an item or a member: `,` and another one (`false`), or `close` (`true`).
    fn comma_or_close(
        &mut self,
        close: u8,
        eof: &'static str,
        expected: &'static str,
    ) -> Result<bool, ParseError> {
        self.skip_space();
        match self.next() {
            Some(b',') => {
                self.skip_space();
                if self.peek() == Some(close) {
                    return Err(self.error_before("trailing comma"));
                }
                Ok(false)
            }
            Some(b) if b == close => Ok(true),
            None => Err(self.error(eof)),
            Some(_) => Err(self.error(expected)),
        }
    }

    /// The rest of a string whose opening quote was read.
    fn string(&mut self) -> Result<String, ParseError> {
        self.text_of_string().map(Cow::into_owned)
    }

    /// The rest of a string whose opening quote was read, borrowed from the text when it has
    /// no escapes (an object's keys, mostly: no allocation for them).
    fn text_of_string(&mut self) -> Result<Cow<'a, str>, ParseError> {
        let mut out: Option<String> = None;
        loop {
            let start = self.pos;
            let rest = &self.bytes[start..];
            self.pos += rest
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                .unwrap_or(rest.len());
            // The stops are ASCII, so both ends are character boundaries.
            let run = self.text.get(start..self.pos).unwrap_or_default();
            match self.next() {
                Some(b'"') => {
                    return Ok(match out {
                        None => Cow::Borrowed(run),
                        Some(mut out) => {
                            out.push_str(run);
                            Cow::Owned(out)
                        }
                    });
                }
                Some(b'\\') => {
                    let out = out.get_or_insert_with(String::new);
                    out.push_str(run);
                    out.push(self.escape()?);
                }
                Some(_) => {
                    return Err(self.error(
                        "control character (\\u0000-\\u001F) found while parsing a string",
                    ));
                }
                None => return Err(self.error("EOF while parsing a string")),
            }
        }
    }

    /// The character of an escape whose backslash was read.
    fn escape(&mut self) -> Result<char, ParseError> {
        Ok(match self.next() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                let unit = self.hex4()?;
                let code = match unit {
                    0xD800..=0xDBFF => {
                        if self.next() != Some(b'\\') {
                            return Err(self.error("unexpected end of hex escape"));
                        }
                        match self.next() {
                            Some(b'u') => {}
                            None => return Err(self.error("EOF while parsing a string")),
                            Some(_) => return Err(self.error("unexpected end of hex escape")),
                        }
                        let low = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return Err(self.error("lone leading surrogate in hex escape"));
                        }
                        0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                    }
                    0xDC00..=0xDFFF => {
                        return Err(self.error("lone leading surrogate in hex escape"));
                    }
                    _ => unit,
                };
                char::from_u32(code).ok_or_else(|| self.error("invalid unicode code point"))?
            }
            None => return Err(self.error("EOF while parsing a string")),
            Some(_) => return Err(self.error("invalid escape")),
        })
    }

    /// Four hex digits (a UTF-16 unit), refused as a whole when one is not a hex digit.
    fn hex4(&mut self) -> Result<u32, ParseError> {
        let Some(digits) = self.bytes.get(self.pos..self.pos + 4) else {
            self.pos = self.bytes.len();
            return Err(self.error("EOF while parsing a string"));
        };
        self.pos += 4;
        digits
            .iter()
            .try_fold(0, |unit, &b| Some(unit * 16 + char::from(b).to_digit(16)?))
            .ok_or_else(|| self.error("invalid escape"))
    }

    /// Digits, at least one.
    fn digits(&mut self) -> Result<(), ParseError> {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        match self.peek() {
            _ if self.pos > start => Ok(()),
            None => Err(self.error("EOF while parsing a value")),
            Some(_) => Err(self.error_before("invalid number")),
        }
    }

    fn number(&mut self) -> Result<Value, ParseError> {
        let start = self.pos;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.pos += 1;
        }
        let int_start = self.pos;
        match self.peek() {
            Some(b'0') => {
                self.pos += 1;
                if let Some(b'0'..=b'9') = self.peek() {
                    return Err(self.error_before("invalid number"));
                }
            }
            Some(b'1'..=b'9') => self.digits()?,
            None => return Err(self.error("EOF while parsing a value")),
            Some(_) => return Err(self.error_before("invalid number")),
        }
        let int_end = self.pos;
        let mut fraction_or_exponent = false;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.digits()?;
            fraction_or_exponent = true;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            self.digits()?;
            fraction_or_exponent = true;
        }
        if !fraction_or_exponent {
            let magnitude = self.bytes[int_start..int_end]
                .iter()
                .try_fold(0u64, |n, &d| {
                    n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
                });
            match (magnitude, negative) {
                (Some(n), false) => return Ok(Value::Number(n.into())),
                // `-0` and magnitudes past i64's are floats, as serde_json reads them.
                (Some(n), true) if n != 0 && n <= 1 << 63 => {
                    return Ok(Value::Number((n as i64).wrapping_neg().into()));
                }
                _ => {}
            }
        }
        float(&self.bytes[start..self.pos])
            .and_then(Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| self.error("number out of range"))
    }
}

/// Significant digits kept of a float: as many as a `u64` holds whatever they are.
const FLOAT_DIGITS_MAX: u32 = 19;

/// `10^n` for n = 2^0 … 2^8: every power of ten a float holds, as a product of these.
const POWERS_OF_TEN: [f64; 9] = [1e1, 1e2, 1e4, 1e8, 1e16, 1e32, 1e64, 1e128, 1e256];

/// The float of a JSON number already checked to be well formed (`-`, digits, an optional
/// fraction and exponent); `None` beyond the float range.
///
/// Its first 19 significant digits, as a whole number, times a power of ten: exact, as every
/// correct parser reads it, when both are exact floats (at most 15 digits, and a power of at
/// most 22 either way: 4.5e-21 is 45 × 10^-22), which covers what people write; otherwise
/// within a few units in the last place, as serde_json's default parser (not its
/// `float_roundtrip` one) is. The table above is all it needs, where Rust's correctly rounded `str::parse`
/// brought 15 KB of tables and code into the WebAssembly module (issue 13). Plain
/// multiplications in a fixed order, so native and WebAssembly builds read the same float.
fn float(number: &[u8]) -> Option<f64> {
    let (negative, rest) = match number.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, number),
    };
    let mantissa_end = rest
        .iter()
        .position(|b| matches!(b, b'e' | b'E'))
        .unwrap_or(rest.len());
    let mut exponent: i64 = 0;
    if let Some(written) = rest.get(mantissa_end + 1..) {
        let (sign, digits) = match written.split_first() {
            Some((b'-', digits)) => (-1, digits),
            Some((b'+', digits)) => (1, digits),
            _ => (1, written),
        };
        // Saturating: past a few hundred the float is 0 or out of range either way.
        let magnitude = digits
            .iter()
            .fold(0i64, |n, d| (n * 10 + i64::from(d - b'0')).min(1 << 40));
        exponent = sign * magnitude;
    }
    let mut significand: u64 = 0;
    let mut kept = 0;
    let mut after_point = false;
    for &b in &rest[..mantissa_end] {
        if b == b'.' {
            after_point = true;
            continue;
        }
        let digit = u64::from(b - b'0');
        if kept < FLOAT_DIGITS_MAX {
            significand = significand * 10 + digit;
            if significand > 0 {
                kept += 1;
            }
            if after_point {
                exponent -= 1;
            }
        } else if !after_point {
            exponent += 1;
        }
    }
    // 10^n for n < 512, from the bits of n: exact up to 10^22.
    let power = |n: i64| {
        POWERS_OF_TEN
            .iter()
            .enumerate()
            .filter(|(bit, _)| n >> bit & 1 == 1)
            .fold(1.0, |p, (_, &ten)| p * ten)
    };
    let mut value = significand as f64;
    if value != 0.0 {
        if exponent >= 0 {
            // A significand of at least 1 times 10^309 is past the range.
            if exponent > 308 {
                return None;
            }
            value *= power(exponent);
        } else {
            let mut n = -exponent;
            // Below 10^-300 in steps, so that tiny (subnormal) floats are not lost.
            while n > 300 && value != 0.0 {
                value /= 1e256;
                n -= 256;
            }
            value /= power(n);
        }
    }
    let value = if negative { -value } else { value };
    value.is_finite().then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// serde_json's reading of a text, as `Ok(tree)` or `Err(())`.
    fn serde(text: &str) -> Result<Value, ()> {
        serde_json::from_str::<Value>(text).map_err(|_| ())
    }

    fn ours(text: &str) -> Result<Value, ()> {
        parse(text).map_err(|_| ())
    }

    #[test]
    fn reads_what_serde_json_reads_on_hand_picked_edges() {
        // Proves the reader accepts and refuses the same texts as serde_json and builds the same trees, edge by edge.
        let cases = [
            "null",
            "true",
            "false",
            " 0 ",
            "-0",
            "-0.0",
            "01",
            "1.",
            ".5",
            "1e",
            "1e+",
            "1E-2",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775808",
            "-9223372036854775809",
            "1e400",
            "-1e400",
            "1e-400",
            "123456789012345678901234567890",
            "\"a\\u0000b\"",
            "\"\\ud83d\\ude00\"",
            "\"\\ud83d\"",
            "\"\\ude00\"",
            "\"\\ud83d\\u0041\"",
            "\"\\x\"",
            "\"tab\there\"",
            "\"\\u00e9\\u00E9\"",
            "\"é\"",
            "\"\\uZZZZ\"",
            "\"abc",
            "[",
            "[1,]",
            "[1 2]",
            "[,1]",
            "[]",
            " [ ] ",
            "{}",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{1:2}",
            "{\"a\":1,\"a\":2}",
            "{\"a\":{\"b\":[null,{}]}}",
            "nul",
            "nulll",
            "tru",
            "x",
            "",
            "   ",
            "1 2",
            "[1] x",
            "\u{feff}1",
            "\"\u{7f}\"",
            "-",
            "-a",
            "--1",
            "+1",
            "0x10",
            "1.5e3",
            "1e3",
            "0.1",
            "3.141592653589793",
            "2.2250738585072014e-308",
            "5e-324",
            "1.7976931348623157e308",
            "1.7976931348623159e308",
            "{\"a\":}",
            "{\"a\"",
            "{\"a\":1",
            "[1",
            "[1,",
            "\"\\",
            "\"\\u12",
            "\n\r\t 7 \n",
        ];
        for text in cases {
            assert_eq!(ours(text), serde(text), "{text:?}");
        }
    }

    /// Units in the last place between two floats of the same sign.
    fn ulps(a: f64, b: f64) -> u64 {
        assert_eq!(a.is_sign_negative(), b.is_sign_negative(), "{a} {b}");
        a.to_bits().abs_diff(b.to_bits())
    }

    #[test]
    fn floats_people_write_are_exact_and_others_within_a_few_units() {
        // Proves floats of up to 15 digits and exponents up to 22 read exactly (as a correctly rounded parse does), and extreme ones within 4 units in the last place, at the ends of the range too.
        for text in [
            "0.1",
            "-0.5",
            "123.456",
            "1e22",
            "-4.5e-21",
            "999999999999999",
            "0.000000000000001",
            "1E3",
        ] {
            assert_eq!(
                parse(text).unwrap().as_f64(),
                text.parse::<f64>().ok(),
                "{text}"
            );
        }
        for text in [
            "-904450596.3866401",
            "2.2250738585072014e-308",
            "4.9e-324",
            "1e-320",
            "9007199254740993",
            "1e23",
            "1.7976931348623157e308",
            "12345678901234567890123.5e-3",
            "0.1234567890123456789012",
            "3.141592653589793238462643383279",
            "1e-300",
            "7e-310",
        ] {
            let (ours, exact) = (
                parse(text).unwrap().as_f64().unwrap(),
                text.parse::<f64>().unwrap(),
            );
            assert!(ulps(ours, exact) <= 4, "{text}: {ours} against {exact}");
        }
        assert_eq!(parse("1e-400").unwrap().as_f64(), Some(0.0));
        assert_eq!(parse("0e999999999999").unwrap().as_f64(), Some(0.0));
        assert!(parse("1e309").is_err() && parse("-1e99999999999999").is_err());
    }

    #[test]
    fn nesting_stops_where_serde_jsons_does() {
        // Proves the depth limit is serde_json's: 127 nested arrays read, 128 are refused, in arrays and objects alike.
        for depth in [126, 127, 128, 129] {
            let arrays = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
            assert_eq!(ours(&arrays), serde(&arrays), "arrays {depth}");
            let objects = format!("{}1{}", "{\"k\":".repeat(depth), "}".repeat(depth));
            assert_eq!(ours(&objects), serde(&objects), "objects {depth}");
        }
        assert!(ours(&format!("{}{}", "[".repeat(127), "]".repeat(127))).is_ok());
    }

    #[test]
    fn messages_are_serde_jsons() {
        // Proves each refusal says what serde_json says, at the line and column it gives.
        let cases = [
            "{\n  \"a\": tru\n}",
            "[1,]",
            "",
            "1 2",
            "[1 2]",
            "{\"a\" 1}",
            "{1:2}",
            "01",
            "1.",
            "-",
            "\"abc",
            "\"\\x\"",
            "\"\\ud83d\"",
            "\"\\ude00\"",
            "1e400",
            "[",
            "{",
            "{\"a\":1,}",
            "\"a\u{1}\"",
            "x",
            "\n\n  ]",
            "[\n1,\n2\n,]",
            "nulx",
            "[tru]",
            "\"\\u12\"",
            "\"\\u12",
            "{\"a\":1",
            "{\"a\"",
            "[1,",
            "-x",
            "1ex",
            "{\"a\":1 \"b\"}",
            "\"\\ud83d\\x\"",
            "\"\\ud83d\\u0041\"",
            "\"\\ud83d\\",
            "\"\\u12g4\"",
            "\"\\ud83dab\"",
            "[ ",
            "[\n",
            "{ ",
        ];
        let differ: Vec<_> = cases
            .iter()
            .map(|text| {
                let theirs = serde_json::from_str::<Value>(text).unwrap_err().to_string();
                (text, parse(text).unwrap_err().to_string(), theirs)
            })
            .filter(|(_, ours, theirs)| ours != theirs)
            .collect();
        assert!(differ.is_empty(), "{differ:#?}");
        let deep = "[".repeat(200);
        let theirs = serde_json::from_str::<Value>(&deep)
            .unwrap_err()
            .to_string();
        assert_eq!(parse(&deep).unwrap_err().to_string(), theirs);
    }

    #[test]
    fn errors_name_what_and_where() {
        // Proves an error says what is wrong and its line and column, as serde_json's messages do.
        let e = parse("{\n  \"a\": trux\n}").unwrap_err();
        assert_eq!(e.what(), "expected ident");
        assert_eq!(e.to_string(), "expected ident at line 2 column 11");
        assert_eq!(
            parse("[1,]").unwrap_err().to_string(),
            "trailing comma at line 1 column 4"
        );
        assert_eq!(parse("").unwrap_err().what(), "EOF while parsing a value");
        assert_eq!(parse("1 2").unwrap_err().what(), "trailing characters");
    }

    #[test]
    fn a_list_is_read_item_by_item() {
        // Proves `parse_list` hands each item of an array in order, objects as their members in document order (a repeated key twice), says when the document is not an array, and refuses what `parse` refuses.
        let mut seen = Vec::new();
        let read = parse_list(
            " [1, {\"b\": 2, \"a\": [3], \"b\": null}, [], {}] ",
            |item| {
                seen.push(match item {
                    Item::Object(members) => format!("{members:?}"),
                    Item::Other(v) => v.to_string(),
                })
            },
        );
        assert_eq!(read, Ok(true));
        assert_eq!(
            seen,
            [
                "1",
                "[(\"b\", Number(2)), (\"a\", Array [Number(3)]), (\"b\", Null)]",
                "[]",
                "[]"
            ]
        );
        let mut none = 0;
        assert_eq!(parse_list("[]", |_| none += 1), Ok(true));
        assert_eq!(parse_list(" {\"a\":1} ", |_| none += 1), Ok(false));
        assert_eq!(none, 0);
        for bad in [
            "[",
            "[1,]",
            "[1 2]",
            "[1] x",
            "",
            "[,]",
            "{",
            "[[1]",
            "[{]",
            "[{\"a\":1,}]",
            "[{\"a\"}]",
        ] {
            assert!(parse_list(bad, |_| {}).is_err(), "{bad:?}");
            assert!(serde(bad).is_err(), "{bad:?}");
        }
        for depth in [126, 127] {
            let nested = format!("[{}1{}]", "{\"k\":".repeat(depth), "}".repeat(depth));
            assert_eq!(
                parse_list(&nested, |_| {}).is_ok(),
                serde(&nested).is_ok(),
                "{depth}"
            );
        }
    }

    #[cfg(not(target_arch = "wasm32"))]
    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// JSON trees whose floats have at most 15 significant digits and small exponents
        /// (which serde_json's parser reads exactly too; see `floats_are_correctly_rounded`)
        /// and strings of any characters.
        fn tree() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<u64>().prop_map(Value::from),
                any::<i64>().prop_map(Value::from),
                (-999_999_999_999_999i64..999_999_999_999_999, -8i32..=0)
                    .prop_map(|(m, e)| Value::from(format!("{m}e{e}").parse::<f64>().unwrap())),
                any::<String>().prop_map(Value::String),
            ];
            leaf.prop_recursive(6, 64, 8, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                    prop::collection::vec((any::<String>(), inner), 0..8)
                        .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
                ]
            })
        }

        /// The same tree, floats allowed 4 units in the last place apart (numbers of many
        /// digits, where neither parser is correctly rounded).
        fn close(a: &Result<Value, ()>, b: &Result<Value, ()>) -> bool {
            fn same(a: &Value, b: &Value) -> bool {
                match (a, b) {
                    (Value::Number(x), Value::Number(y)) if x.is_f64() && y.is_f64() => {
                        let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
                        x == y || (x.signum() == y.signum() && ulps(x, y) <= 4)
                    }
                    (Value::Array(x), Value::Array(y)) => {
                        x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
                    }
                    (Value::Object(x), Value::Object(y)) => {
                        x.len() == y.len()
                            && x.iter()
                                .zip(y)
                                .all(|((kx, x), (ky, y))| kx == ky && same(x, y))
                    }
                    _ => a == b,
                }
            }
            match (a, b) {
                (Ok(a), Ok(b)) => same(a, b),
                (Err(()), Err(())) => true,
                _ => false,
            }
        }

        proptest! {
            #[test]
            fn trees_written_by_serde_json_read_back_the_same(value in tree()) {
                // Proves any tree serde_json writes, compact or pretty, reads back equal to serde_json's own reading of it.
                for text in [serde_json::to_string(&value).unwrap(), serde_json::to_string_pretty(&value).unwrap()] {
                    prop_assert_eq!(ours(&text), serde(&text));
                }
            }

            #[test]
            fn floats_are_within_four_units_of_the_correctly_rounded_one(m in 1u64.., e in -330i32..300, point in 0usize..20) {
                // Proves any float text, whatever its digits and exponent, reads within 4 units in the last place of Rust's correctly rounded parse.
                let digits = m.to_string();
                let at = point.min(digits.len());
                let text = format!("{}.{}0e{e}", &digits[..at].to_string().max("0".into()), &digits[at..]);
                let exact = text.parse::<f64>().unwrap();
                match parse(&text) {
                    Ok(v) => prop_assert!(ulps(v.as_f64().unwrap(), exact) <= 4, "{text}: {v} against {exact}"),
                    Err(_) => prop_assert!(exact.is_infinite(), "{text}"),
                }
            }

            #[test]
            fn any_text_is_accepted_or_refused_as_serde_json_does(text in "[\\[\\]{}\":,0-9eE.+\\- \\\\nultrfasx\u{e9}\n]{0,24}") {
                // Proves on random JSON-like text that the reader accepts exactly what serde_json accepts, with the same tree.
                let (ours, serde) = (ours(&text), serde(&text));
                prop_assert!(close(&ours, &serde), "{:?} against {:?}", ours, serde);
            }

            #[test]
            fn mangled_documents_are_refused_as_serde_json_does(value in tree(), cut in any::<prop::sample::Index>(), byte in any::<u8>()) {
                // Proves a valid document with one byte replaced is accepted or refused exactly as serde_json does.
                let mut bytes = serde_json::to_string(&value).unwrap().into_bytes();
                let at = cut.index(bytes.len().max(1)).min(bytes.len().saturating_sub(1));
                if !bytes.is_empty() && byte.is_ascii() {
                    bytes[at] = byte;
                }
                if let Ok(text) = String::from_utf8(bytes) {
                    let (ours, serde) = (ours(&text), serde(&text));
                    prop_assert!(close(&ours, &serde), "{:?} against {:?}", ours, serde);
                }
            }
        }
    }
}

//! JSON text out of the core's values. Every value the core writes (checkpoints, catalogues,
//! reports, and what the WebAssembly facade hands to JS, parsed there by `JSON.parse`) goes
//! through one serializer with one formatter, so each type's `Serialize` code is linked once:
//! the WebAssembly module is a download, and each extra serializer (serde_json's pretty
//! printer, `serde_wasm_bindgen`, `serde_json::to_value`) doubled that code. Pretty text is
//! the compact text re-indented.

use std::io;

mod read;
pub use read::{Item, ParseError, parse, parse_list};

use serde::Serialize;

/// A JSON object of `"key" => value` pairs, each value made with `Value::from` (a `Value`, a
/// string, an integer, a bool, an `Option` or a `Vec` of them). `serde_json::json!` turns each
/// value into a tree with `to_value`, a second serializer in the WebAssembly module (0.7 KB
/// gzipped, issue 13); values of the core's own types go through `to_tree`.
macro_rules! object {
    ($($key:literal => $value:expr),* $(,)?) => {{
        #[allow(unused_mut)]
        let mut map = serde_json::Map::new();
        $(map.insert($key.to_owned(), serde_json::Value::from($value));)*
        serde_json::Value::Object(map)
    }};
}
pub(crate) use object;
use serde_json::ser::{CompactFormatter, Formatter};

/// The largest integer a JS number holds exactly (`Number.MAX_SAFE_INTEGER`).
const JS_SAFE_MAX: u64 = (1 << 53) - 1;

/// serde_json's compact output; for JS (`js`), an integer a JS number cannot hold exactly is
/// an error naming it, as `serde_wasm_bindgen` refused it.
struct Checked {
    js: bool,
}

fn not_representable(v: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("{v} can't be represented as a JavaScript number"))
}

impl Formatter for Checked {
    fn write_u64<W: ?Sized + io::Write>(&mut self, w: &mut W, v: u64) -> io::Result<()> {
        if self.js && v > JS_SAFE_MAX {
            return Err(not_representable(v));
        }
        CompactFormatter.write_u64(w, v)
    }

    fn write_i64<W: ?Sized + io::Write>(&mut self, w: &mut W, v: i64) -> io::Result<()> {
        if self.js && v.unsigned_abs() > JS_SAFE_MAX {
            return Err(not_representable(v));
        }
        CompactFormatter.write_i64(w, v)
    }
}

fn write<T: Serialize + ?Sized>(value: &T, js: bool) -> Result<String, serde_json::Error> {
    let mut out = Vec::with_capacity(128);
    value.serialize(&mut serde_json::Serializer::with_formatter(
        &mut out,
        Checked { js },
    ))?;
    // serde_json writes valid UTF-8 only.
    Ok(String::from_utf8(out).unwrap_or_default())
}

/// Compact JSON text, as `serde_json::to_string` writes it (plain data: it cannot fail).
pub fn to_text<T: Serialize + ?Sized>(value: &T) -> String {
    write(value, false).unwrap_or_default()
}

/// Compact JSON text for `JSON.parse` in JS: `Err` names an integer beyond ±(2⁵³ − 1).
pub fn to_js_text<T: Serialize + ?Sized>(value: &T) -> Result<String, String> {
    write(value, true).map_err(|e| e.to_string())
}

/// A JSON tree of a value, as `serde_json::to_value` makes it, through the same serializer.
pub fn to_tree<T: Serialize + ?Sized>(value: &T) -> serde_json::Value {
    parse(&to_text(value)).unwrap_or_default()
}

/// Pretty JSON text (two-space indent), byte for byte what serde_json's pretty printer writes.
pub fn to_text_pretty<T: Serialize + ?Sized>(value: &T) -> String {
    pretty(&to_text(value))
}

/// Re-indents compact JSON text as serde_json's `PrettyFormatter` writes it.
pub fn pretty(compact: &str) -> String {
    let bytes = compact.as_bytes();
    let mut out = Vec::with_capacity(bytes.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut i = 0;
    let newline = |out: &mut Vec<u8>, depth: usize| {
        out.push(b'\n');
        out.resize(out.len() + 2 * depth, b' ');
    };
    while i < bytes.len() {
        let b = bytes[i];
        i += 1;
        if in_string {
            out.push(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                out.push(b);
            }
            b'[' | b'{' => {
                out.push(b);
                if matches!(bytes.get(i), Some(b']' | b'}')) {
                    out.push(bytes[i]);
                    i += 1;
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(b);
            }
            b',' => {
                out.push(b);
                newline(&mut out, depth);
            }
            b':' => out.extend_from_slice(b": "),
            _ => out.push(b),
        }
    }
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pretty_text_is_serde_jsons_pretty_printer_byte_for_byte() {
        // Proves the re-indented compact text equals serde_json's own pretty output: nesting, empty lists and objects, and brackets, colons, commas, quotes and backslashes inside strings.
        let tricky = json!({
            "a": [], "b": {}, "c": [[], {}, [1, [2, {"x": null}]]],
            "s": "brackets [ ] { } , : and \"quotes\" \\ \\\" end\\",
            "t": "\u{1}\n\t☃", "n": -5, "u": 18446744073709551615u64, "f": true,
            "nested": {"deep": {"deeper": [{"k": "v"}, {}]}}
        });
        assert_eq!(
            to_text_pretty(&tricky),
            serde_json::to_string_pretty(&tricky).unwrap()
        );
        let catalogue = crate::Catalogue::default();
        assert_eq!(
            to_text_pretty(&catalogue),
            serde_json::to_string_pretty(&catalogue).unwrap()
        );
        assert_eq!(to_text_pretty(&json!([])), "[]");
        assert_eq!(to_text_pretty(&json!("x")), "\"x\"");
    }

    #[test]
    fn compact_text_and_trees_are_serde_jsons() {
        // Proves to_text is serde_json::to_string and to_tree is serde_json::to_value, for a checkpoint-sized value.
        let catalogue = crate::Catalogue::default();
        assert_eq!(
            to_text(&catalogue),
            serde_json::to_string(&catalogue).unwrap()
        );
        assert_eq!(
            to_tree(&catalogue),
            serde_json::to_value(&catalogue).unwrap()
        );
        let v = json!({"n": -9007199254740991i64, "m": 9007199254740991u64, "x": [1, "2"]});
        assert_eq!(to_tree(&v), v);
    }

    #[test]
    fn js_text_refuses_integers_a_js_number_cannot_hold() {
        // Proves the JS path refuses |n| > 2^53 - 1 with serde_wasm_bindgen's words and takes the limits themselves, while plain text writes any integer.
        let max = JS_SAFE_MAX;
        assert_eq!(
            to_js_text(&json!([max, -(max as i64)])).unwrap(),
            format!("[{max},-{max}]")
        );
        assert_eq!(
            to_js_text(&json!({"a": max + 1})).unwrap_err(),
            "9007199254740992 can't be represented as a JavaScript number"
        );
        assert_eq!(
            to_js_text(&(-(max as i64) - 1)).unwrap_err(),
            "-9007199254740992 can't be represented as a JavaScript number"
        );
        assert_eq!(to_text(&u64::MAX), u64::MAX.to_string());
    }
}

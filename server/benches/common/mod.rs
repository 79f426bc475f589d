//! Shared by the server's benchmarks: a real `ai-credits serve` process (release build) on
//! loopback, killed when dropped.
// Not every benchmark uses every helper.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// The platform token every benchmark server starts with.
pub const ADMIN: &str = "bench-admin-token";

/// A running server and its base URL.
pub struct ServerProcess(pub Child, pub String);

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `ai-credits serve` on `db` with `extra` flags, once it prints its address. The binary is
/// this build's, or `AI_CREDITS_BENCH_BIN` (another build, measured with the same client).
pub fn start(db: &str, extra: &[&str]) -> ServerProcess {
    start_env(db, extra, &[])
}

/// Like `start`, with environment variables for the server.
pub fn start_env(db: &str, extra: &[&str], envs: &[(&str, &str)]) -> ServerProcess {
    let bin = std::env::var("AI_CREDITS_BENCH_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_ai-credits").to_owned());
    // A benchmark measures throughput, not the rate limits (a build that has them gets them
    // switched off; an older one does not know the flags).
    let limited = Command::new(&bin)
        .args(["serve", "--help"])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("--rate-per-token"));
    let unlimited: &[&str] = if limited {
        &["--rate-per-token", "0", "--rate-per-account", "0"]
    } else {
        &[]
    };
    let mut child = Command::new(bin)
        .args(["serve", "--addr", "127.0.0.1:0", "--db", db])
        .args(unlimited)
        .args(extra)
        .env_remove("DATABASE_URL")
        .env("AI_CREDITS_ADMIN_TOKEN", ADMIN)
        .env("RUST_LOG", "warn")
        .envs(envs.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the server starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("first line");
    let base = line
        .trim()
        .strip_prefix("ai-credits listening on ")
        .unwrap_or_else(|| panic!("server did not start: {line:?}"))
        .to_owned();
    ServerProcess(child, base)
}

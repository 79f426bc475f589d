//! The `ai-credits` command.
//!
//! `ai-credits scenario PATH` runs a SPEC §4 scenario (PATH `-` reads stdin) and prints the
//! result JSON; a document that is not a scenario prints an error on stderr and exits 2.

use std::io::Read;
use std::process::ExitCode;

fn usage() -> ExitCode {
    eprintln!("usage: ai-credits scenario PATH   (PATH - reads the scenario from stdin)");
    ExitCode::from(64)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["scenario", path] => run_scenario(path),
        _ => usage(),
    }
}

fn run_scenario(path: &str) -> ExitCode {
    let mut bytes = Vec::new();
    let read = if path == "-" {
        std::io::stdin().read_to_end(&mut bytes).map(|_| ())
    } else {
        std::fs::read(path).map(|b| bytes = b)
    };
    if let Err(e) = read {
        eprintln!("ai-credits: cannot read {path}: {e}");
        return ExitCode::from(66);
    }
    let Ok(text) = String::from_utf8(bytes) else {
        eprintln!(
            "ai-credits: {path}: not a scenario: the document is not UTF-8 text (scenario_invalid_json)"
        );
        return ExitCode::from(2);
    };
    match ai_credits::scenario::run_json(&text) {
        Ok(report) => {
            println!("{}", report.to_json_pretty());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ai-credits: {path}: {e} ({})", e.code());
            ExitCode::from(2)
        }
    }
}

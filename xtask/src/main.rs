//! `cargo xtask codegen [--check] [PROVIDER...]` and `cargo xtask spec-drift <PROVIDER> <FILE>...`
//!
//! Regenerates each provider's client crate from its spec in `specs/`, and compares a spec with
//! what the provider publishes (see ARCHITECTURE.md).

use std::process::ExitCode;

use xtask::{codegen, spec_drift};

const USAGE: &str = "usage: cargo xtask codegen [--check] [PROVIDER...]
       cargo xtask spec-drift [--json] <PROVIDER> <FILE>...

codegen     regenerates crates/<provider>-client/src/{generated,mock}.rs from specs/<provider>.yaml
  --check   write nothing; fail with a diff when a generated file is out of date
  PROVIDER  vlens, vrplatform, bunq (default: all)

spec-drift  compares specs/<provider>.yaml with published pages (.md, with an embedded
            `openapi:` block) or OpenAPI documents, operation by operation
  --json    print a JSON array instead of one line per difference
  exit 0: every difference is a known deviation (x-deviation) or ours only; 1: something is new
  upstream; 2: usage error or unreadable file";

/// Splits arguments into flags (checked against `known`) and positional values.
fn parse<'a>(args: &'a [String], known: &[&str]) -> Result<(Vec<&'a str>, Vec<String>), String> {
    let mut flags = Vec::new();
    let mut values = Vec::new();
    for arg in args {
        match arg.as_str() {
            flag if known.contains(&flag) => flags.push(flag),
            flag if flag.starts_with('-') && flag != "-" => {
                return Err(format!("unknown option `{flag}`"));
            }
            value => values.push(value.to_string()),
        }
    }
    Ok((flags, values))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let result = match args.first().map(String::as_str) {
        Some("codegen") => run_codegen(&args[1..]),
        Some("spec-drift") => run_spec_drift(&args[1..]),
        _ => Err(String::new()),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("{message}");
            }
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// `codegen [--check] [PROVIDER...]`; `Err` is a usage error.
fn run_codegen(args: &[String]) -> Result<ExitCode, String> {
    let (flags, names) = parse(args, &["--check"])?;
    let providers = codegen::select(&names)?;
    let (report, ok) =
        codegen::run_and_report(&codegen::workspace_root(), &providers, !flags.is_empty());
    if ok {
        print!("{report}");
        Ok(ExitCode::SUCCESS)
    } else {
        eprint!("{report}");
        Ok(ExitCode::FAILURE)
    }
}

/// `spec-drift [--json] <PROVIDER> <FILE>...`; `Err` is a usage error.
fn run_spec_drift(args: &[String]) -> Result<ExitCode, String> {
    let (flags, values) = parse(args, &["--json"])?;
    let Some((name, files)) = values.split_first().filter(|(_, files)| !files.is_empty()) else {
        return Err("spec-drift needs a provider and at least one file".into());
    };
    let provider = codegen::select(std::slice::from_ref(name))?[0];
    let diffs = match spec_drift::drift(&codegen::workspace_root(), &provider, files) {
        Ok(diffs) => diffs,
        Err(message) => {
            eprintln!("{message}");
            return Ok(ExitCode::from(2));
        }
    };
    if flags.is_empty() {
        print!("{}", spec_drift::render_text(&provider, files, &diffs));
    } else {
        print!("{}", spec_drift::render_json(&diffs));
    }
    let new_upstream = diffs.iter().any(|d| d.class == spec_drift::Class::NewUpstream);
    Ok(if new_upstream { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

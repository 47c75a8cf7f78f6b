//! `cargo xtask codegen [--check] [PROVIDER...]`
//!
//! Regenerates each provider's client crate from its spec in `specs/` (see ARCHITECTURE.md).

use std::process::ExitCode;

use xtask::codegen;

const USAGE: &str = "usage: cargo xtask codegen [--check] [PROVIDER...]

  Regenerates crates/<provider>-client/src/{generated,mock}.rs from specs/<provider>.yaml.
  --check   write nothing; fail with a diff when a generated file is out of date
  PROVIDER  vlens, vrplatform, bunq (default: all)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("codegen") => {}
        Some("-h" | "--help") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    }
    let mut check = false;
    let mut names = Vec::new();
    for arg in &args[1..] {
        match arg.as_str() {
            "--check" => check = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            flag if flag.starts_with('-') => {
                eprintln!("unknown option `{flag}`\n{USAGE}");
                return ExitCode::from(2);
            }
            name => names.push(name.to_string()),
        }
    }
    let providers = match codegen::select(&names) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let root = codegen::workspace_root();
    let (report, ok) = codegen::run_and_report(&root, &providers, check);
    if ok {
        print!("{report}");
        ExitCode::SUCCESS
    } else {
        eprint!("{report}");
        ExitCode::FAILURE
    }
}

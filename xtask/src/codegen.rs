//! `cargo xtask codegen [--check] [PROVIDER...]`: spec → progenitor → prettyplease → checked-in files.
//!
//! Every step is a plain function of the workspace root so tests can run the whole pipeline on a
//! temporary copy of the workspace.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use progenitor::{GenerationSettings, Generator, HooksMode, InterfaceStyle, TagStyle};
use quote::quote;

use crate::downconvert::downconvert;
use crate::rules::{self, Violation};

/// One provider: a spec and the client crate generated from it.
#[derive(Debug, Clone, Copy)]
pub struct Provider {
    /// Short name used on the command line (`cargo xtask codegen vlens`).
    pub name: &'static str,
    /// Spec path relative to the workspace root.
    pub spec: &'static str,
    /// Client crate directory relative to the workspace root.
    pub crate_dir: &'static str,
}

/// The providers of this workspace, in generation order.
pub const PROVIDERS: &[Provider] = &[
    Provider { name: "vlens", spec: "specs/vlens.yaml", crate_dir: "crates/vlens-client" },
    Provider {
        name: "vrplatform",
        spec: "specs/vrplatform.yaml",
        crate_dir: "crates/vrplatform-client",
    },
    Provider { name: "bunq", spec: "specs/bunq.yaml", crate_dir: "crates/bunq-client" },
];

/// One generated file: where it goes (relative to the root) and its full contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    /// Path relative to the workspace root, with `/` separators.
    pub path: String,
    /// The file's contents, header included.
    pub contents: String,
}

/// Why a provider could not be generated.
#[derive(Debug)]
pub enum CodegenError {
    /// The spec file could not be read or parsed as YAML/JSON.
    Load(String),
    /// The spec breaks rules that would make progenitor panic or fail (each already rendered as
    /// `specs/FILE: /json/pointer: message`).
    Rules(Vec<String>),
    /// progenitor or the formatter failed.
    Generate(String),
}

impl std::fmt::Display for CodegenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CodegenError::Load(m) | CodegenError::Generate(m) => f.write_str(m),
            CodegenError::Rules(lines) => f.write_str(&lines.join("\n")),
        }
    }
}

/// Loads a spec (YAML, or JSON when the file ends in `.json`) into a JSON value.
pub fn load_spec(root: &Path, spec: &str) -> Result<serde_json::Value, CodegenError> {
    let path = root.join(spec);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| CodegenError::Load(format!("{spec}: cannot read {}: {e}", path.display())))?;
    if spec.ends_with(".json") {
        serde_json::from_str(&text)
            .map_err(|e| CodegenError::Load(format!("{spec}: invalid JSON: {e}")))
    } else {
        serde_norway::from_str(&text)
            .map_err(|e| CodegenError::Load(format!("{spec}: invalid YAML: {e}")))
    }
}

/// Turns a loaded document into a validated `openapiv3::OpenAPI`: strips `x-deviation` notes,
/// down-converts 3.1, runs the rule check, then parses. Every violation is reported, rendered with the spec path.
pub fn prepare_spec(
    spec: &str,
    mut doc: serde_json::Value,
) -> Result<openapiv3::OpenAPI, CodegenError> {
    let render = |v: Vec<Violation>| v.iter().map(|v| v.render(spec)).collect::<Vec<_>>();
    crate::deviation::strip(&mut doc);
    downconvert(&mut doc).map_err(|v| CodegenError::Rules(render(v)))?;
    let violations = rules::check(&doc);
    if !violations.is_empty() {
        return Err(CodegenError::Rules(render(violations)));
    }
    serde_json::from_value(doc).map_err(|e| {
        CodegenError::Rules(vec![format!(
            "{spec}: /: not a valid OpenAPI 3.0 document after conversion: {e}; fix the spec so \
             that it parses with the openapiv3 crate"
        )])
    })
}

/// The fuzz target's entry (and its regression tests'): arbitrary bytes as a spec document
/// (YAML; JSON is YAML too) through deviation stripping, down-conversion and the rule check.
/// A document the rules accept is then generated, client and mock, with no `catch_unwind`:
/// the rules exist because progenitor panics on some shapes, so a panic here is a rule missing.
pub fn check_bytes(data: &[u8]) -> Result<(), CodegenError> {
    let text = std::str::from_utf8(data)
        .map_err(|e| CodegenError::Load(format!("fuzz.yaml: not UTF-8: {e}")))?;
    let doc: serde_json::Value = serde_norway::from_str(text)
        .map_err(|e| CodegenError::Load(format!("fuzz.yaml: invalid YAML: {e}")))?;
    let api = prepare_spec("fuzz.yaml", doc)?;
    let mut generator = Generator::new(&settings());
    generator
        .generate_tokens(&api)
        .map_err(|e| CodegenError::Generate(format!("fuzz.yaml: progenitor: {e}")))?;
    generator
        .httpmock(&api, "crate")
        .map_err(|e| CodegenError::Generate(format!("fuzz.yaml: progenitor: {e}")))?;
    Ok(())
}

fn settings() -> GenerationSettings {
    let mut settings = GenerationSettings::new();
    settings
        .with_interface(InterfaceStyle::Builder)
        .with_tag(TagStyle::Merged)
        .with_hooks(HooksMode::Expected)
        .with_inner_type(quote!(::embed_sessions_hooks::Hooks));
    settings
}

fn header(spec: &str, what: &str) -> String {
    format!(
        "// @generated by `cargo xtask codegen` from `{spec}`: {what}.\n\
         // DO NOT EDIT. Change the spec and run `cargo xtask codegen` instead.\n\n"
    )
}

fn parse_tokens(spec: &str, tokens: proc_macro2::TokenStream) -> Result<syn::File, CodegenError> {
    syn::parse2(tokens).map_err(|e| {
        CodegenError::Generate(format!("{spec}: progenitor produced unparsable Rust: {e}"))
    })
}

fn format_tokens(spec: &str, tokens: proc_macro2::TokenStream) -> Result<String, CodegenError> {
    Ok(prettyplease::unparse(&parse_tokens(spec, tokens)?))
}

/// One of [`crate::postprocess`]'s rewrites: how many places it changed.
type Rewrite = fn(&mut syn::File) -> usize;

/// The generated client with progenitor's output rewritten (see [`crate::postprocess`]): no
/// `api-version` header, requests started and typed answers decoded by the hooks.
fn client_source(
    spec: &str,
    api: &openapiv3::OpenAPI,
    tokens: proc_macro2::TokenStream,
) -> Result<String, CodegenError> {
    let mut file = parse_tokens(spec, tokens)?;
    let operations = api.operations().count();
    let rewrites: [(&str, Rewrite); 3] = [
        ("`api-version` header statements removed", crate::postprocess::drop_api_version),
        ("requests routed through the hooks", crate::postprocess::route_through_hooks),
        ("request-building scopes ended before the answer", crate::postprocess::scope_the_request),
    ];
    for (what, rewrite) in rewrites {
        let done = rewrite(&mut file);
        if done != operations {
            return Err(CodegenError::Generate(format!(
                "{spec}: {done} {what} for {operations} operations: progenitor's output \
                 changed; update xtask/src/postprocess.rs"
            )));
        }
    }
    // Counted against what is left, not per operation: an operation may have no JSON answer.
    let (decoded, left) = crate::postprocess::decode_through_hooks(&mut file);
    if left > 0 {
        return Err(CodegenError::Generate(format!(
            "{spec}: {decoded} `ResponseValue::from_response` calls routed through the hooks, \
             {left} left as progenitor wrote them: progenitor's output changed; update \
             xtask/src/postprocess.rs"
        )));
    }
    Ok(prettyplease::unparse(&file))
}

/// Generates the files of one provider in memory. Never panics on a bad spec: progenitor is only
/// called once the rule check passed, and a panic inside it is still caught and reported.
pub fn generate(root: &Path, provider: &Provider) -> Result<Vec<GeneratedFile>, CodegenError> {
    let spec = provider.spec;
    let doc = load_spec(root, spec)?;
    let api = prepare_spec(spec, doc)?;

    let run = std::panic::catch_unwind(|| {
        let mut generator = Generator::new(&settings());
        let client = generator.generate_tokens(&api);
        let mock = generator.httpmock(&api, "crate");
        (client, mock)
    });
    let (client, mock) = run.map_err(|panic| {
        let msg = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown panic".into());
        CodegenError::Generate(format!(
            "{spec}: progenitor panicked ({msg}); the rule check missed this shape: add a rule \
             to xtask/src/rules.rs and a fixture for it"
        ))
    })?;
    let client = client.map_err(|e| CodegenError::Generate(format!("{spec}: progenitor: {e}")))?;
    let mock = mock.map_err(|e| CodegenError::Generate(format!("{spec}: progenitor: {e}")))?;

    // The facade's transport hook: the impl must live beside the generated `Client` (orphan rule).
    let hooks = quote! {
        impl ClientHooks<::embed_sessions_hooks::Hooks> for Client {
            // Not an `async fn`: its state would keep a copy of the request (see `Hooks::exec`).
            fn exec(
                &self,
                request: reqwest::Request,
                info: &OperationInfo,
            ) -> impl ::std::future::Future<Output = reqwest::Result<reqwest::Response>> {
                self.inner.exec(&self.client, request, info.operation_id)
            }
        }
    };
    let client_src = client_source(spec, &api, quote!(#client #hooks))?;
    let mock_src = format_tokens(spec, mock)?;

    Ok(vec![
        GeneratedFile {
            path: format!("{}/src/generated.rs", provider.crate_dir),
            contents: header(spec, "the progenitor client (Builder interface)") + &client_src,
        },
        GeneratedFile {
            path: format!("{}/src/mock.rs", provider.crate_dir),
            contents: header(spec, "typed httpmock helpers for the client") + &mock_src,
        },
    ])
}

/// What happened to one provider.
#[derive(Debug)]
pub struct Outcome {
    /// Provider name.
    pub provider: &'static str,
    /// The spec the files were generated from (relative to the root).
    pub spec: &'static str,
    /// Time spent loading, checking, generating and formatting (and writing or comparing).
    pub elapsed: Duration,
    /// Generated files that differ from (or are missing on) disk, with a unified diff each.
    pub stale: Vec<(String, String)>,
    /// Files written (empty in check mode or when nothing changed).
    pub written: Vec<String>,
}

fn normalise(s: &str) -> String {
    s.replace("\r\n", "\n")
}

/// Runs codegen for the given providers. In check mode nothing is written; stale files are
/// reported with a diff. Providers with a broken spec are reported as errors; the others still
/// run, and nothing is written for a provider whose generation failed.
pub fn run(
    root: &Path,
    providers: &[Provider],
    check: bool,
) -> Vec<Result<Outcome, (&'static str, CodegenError)>> {
    providers
        .iter()
        .map(|provider| {
            let start = Instant::now();
            let files = generate(root, provider).map_err(|e| (provider.name, e))?;
            let mut stale = Vec::new();
            let mut written = Vec::new();
            for file in &files {
                let path = root.join(&file.path);
                let current = std::fs::read_to_string(&path).map(|s| normalise(&s)).ok();
                if current.as_deref() == Some(file.contents.as_str()) {
                    continue;
                }
                if check {
                    let old = current.unwrap_or_default();
                    let diff = similar::TextDiff::from_lines(&old, &file.contents)
                        .unified_diff()
                        .context_radius(3)
                        .header(&format!("a/{}", file.path), &format!("b/{}", file.path))
                        .to_string();
                    stale.push((file.path.clone(), diff));
                } else {
                    write_file(&path, &file.contents).map_err(|e| {
                        (provider.name, CodegenError::Generate(format!("{}: {e}", file.path)))
                    })?;
                    written.push(file.path.clone());
                }
            }
            Ok(Outcome {
                provider: provider.name,
                spec: provider.spec,
                elapsed: start.elapsed(),
                stale,
                written,
            })
        })
        .collect()
}

fn write_file(path: &Path, contents: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // Write then rename, so an interrupted run never leaves half a file behind.
    let tmp = path.with_extension("rs.tmp");
    std::fs::write(&tmp, contents)?;
    std::fs::rename(&tmp, path)
}

/// Picks providers by name; an unknown name is an error listing the known ones.
pub fn select(names: &[String]) -> Result<Vec<Provider>, String> {
    if names.is_empty() {
        return Ok(PROVIDERS.to_vec());
    }
    names
        .iter()
        .map(|n| {
            PROVIDERS.iter().find(|p| p.name == n).copied().ok_or_else(|| {
                let known: Vec<_> = PROVIDERS.iter().map(|p| p.name).collect();
                format!("unknown provider `{n}`; known providers: {}", known.join(", "))
            })
        })
        .collect()
}

/// The workspace root of the checkout this process runs in, found at run time.
///
/// In order: `XTASK_WORKSPACE_ROOT` (tests point the binary at a temporary copy); the parent of
/// the `CARGO_MANIFEST_DIR` that `cargo run`/`cargo test` set in the environment of the process
/// (the xtask directory of the checkout being built); `$CARGO locate-project --workspace` from
/// the current directory; and only as a last resort the directory this binary was compiled in.
///
/// The compile-time path alone is wrong when one `CARGO_TARGET_DIR` serves several checkouts
/// (a global target dir, git worktrees, CI caches): cargo fingerprints workspace members by
/// paths relative to the workspace, so the second checkout runs the binary built for the first
/// and would check the first checkout's specs.
pub fn workspace_root() -> PathBuf {
    if let Some(root) = std::env::var_os("XTASK_WORKSPACE_ROOT") {
        return PathBuf::from(root);
    }
    root_from_manifest_dir()
        .or_else(root_from_cargo)
        .unwrap_or_else(|| compiled_in_root().to_path_buf())
}

/// The parent of the run-time `CARGO_MANIFEST_DIR`, if it is an xtask directory.
fn root_from_manifest_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR")?);
    if !dir.join("Cargo.toml").is_file() || dir.file_name()? != "xtask" {
        return None;
    }
    dir.parent().map(Path::to_path_buf)
}

/// The directory of the workspace manifest, as `$CARGO locate-project --workspace` reports it.
fn root_from_cargo() -> Option<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["locate-project", "--workspace", "--message-format", "plain"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let manifest = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
    let root = manifest.parent()?;
    root.join("xtask").is_dir().then(|| root.to_path_buf())
}

/// The workspace this binary was compiled in (the parent of the compile-time manifest dir).
fn compiled_in_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
}

/// Runs codegen and renders a human report. Returns the report and whether everything passed.
pub fn run_and_report(root: &Path, providers: &[Provider], check: bool) -> (String, bool) {
    let mut out = String::new();
    let mut ok = true;
    let mut any_stale = false;
    for result in run(root, providers, check) {
        match result {
            Ok(outcome) => {
                let ms = outcome.elapsed.as_secs_f64() * 1000.0;
                let state = if !outcome.stale.is_empty() {
                    any_stale = true;
                    ok = false;
                    format!("{} file(s) out of date", outcome.stale.len())
                } else if !outcome.written.is_empty() {
                    format!("wrote {}", outcome.written.join(", "))
                } else {
                    "up to date".to_string()
                };
                let _ = writeln!(out, "{}: {state} ({ms:.0} ms)", outcome.provider);
                for (path, diff) in &outcome.stale {
                    let _ = writeln!(
                        out,
                        "\n{path} differs from what {} generates:\n{diff}",
                        outcome.spec
                    );
                }
            }
            Err((name, err)) => {
                ok = false;
                let _ = writeln!(out, "{name}: FAILED, nothing written\n{err}");
            }
        }
    }
    if any_stale {
        let _ = writeln!(
            out,
            "\ngenerated code is stale: run `cargo xtask codegen` and commit the result \
             together with the spec change"
        );
    }
    (out, ok)
}

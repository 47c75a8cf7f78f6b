//! Rewrites of progenitor's output that no generation setting offers, applied by
//! `cargo xtask codegen` (the only writer of the generated files) before formatting.
//!
//! One today: progenitor 0.15.1 adds `api-version: <info.version>` to every request
//! (`header_map.append(HeaderName::from_static("api-version"), ...)`), with no setting to turn
//! it off. None of the providers defines that header, so the generated clients do not send it.
//! Should a progenitor upgrade stop emitting the statement for some operation (or spell it
//! differently), codegen fails instead of silently keeping the header there.

use quote::ToTokens;

/// Removes progenitor's `api-version` header statement from every generated function of the
/// client `file`; returns how many were removed (one per operation is expected).
pub fn drop_api_version(file: &mut syn::File) -> usize {
    file.items.iter_mut().map(strip_item).sum()
}

fn strip_item(item: &mut syn::Item) -> usize {
    match item {
        syn::Item::Mod(m) => {
            m.content.as_mut().map_or(0, |(_, items)| items.iter_mut().map(strip_item).sum())
        }
        syn::Item::Impl(imp) => imp
            .items
            .iter_mut()
            .map(|i| match i {
                syn::ImplItem::Fn(f) => strip_block(&mut f.block),
                _ => 0,
            })
            .sum(),
        _ => 0,
    }
}

fn strip_block(block: &mut syn::Block) -> usize {
    let before = block.stmts.len();
    block.stmts.retain(|s| !is_api_version_append(s));
    before - block.stmts.len()
}

/// `<map>.append(<...>::HeaderName::from_static("api-version"), <value>);`
fn is_api_version_append(stmt: &syn::Stmt) -> bool {
    let syn::Stmt::Expr(syn::Expr::MethodCall(call), Some(_)) = stmt else {
        return false;
    };
    call.method == "append"
        && call.args.len() == 2
        && call.args[0]
            .to_token_stream()
            .to_string()
            .replace(' ', "")
            .ends_with("HeaderName::from_static(\"api-version\")")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(src: &str) -> syn::File {
        syn::parse_str(src).unwrap()
    }

    #[test]
    fn removes_the_statement_and_nothing_else() {
        let mut f = file(
            r#"mod builder { impl Op { pub async fn send(self) {
                let mut header_map = HeaderMap::with_capacity(2usize);
                header_map.append(
                    ::reqwest::header::HeaderName::from_static("api-version"),
                    ::reqwest::header::HeaderValue::from_static(super::Client::api_version()),
                );
                header_map.append("x-api-key", key.try_into()?);
                header_map.append(HeaderName::from_static("x-other"), v);
            } } }"#,
        );
        assert_eq!(drop_api_version(&mut f), 1);
        let out = prettyplease::unparse(&f);
        assert!(!out.contains("api-version"), "{out}");
        assert!(out.contains("x-api-key") && out.contains("x-other"), "{out}");
    }

    #[test]
    fn nothing_else_is_counted() {
        let mut f = file("mod builder { impl Op { pub async fn send(self) { let x = 1; } } }");
        assert_eq!(drop_api_version(&mut f), 0);
    }
}

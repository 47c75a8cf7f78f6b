//! Rewrites of progenitor's output that no generation setting offers, applied by
//! `cargo xtask codegen` (the only writer of the generated files) before formatting. Each
//! counts what it did, and codegen fails unless the first two rewrote one place per operation
//! and the third left no call unrewritten: should a progenitor upgrade emit something else,
//! the rewrite fails loudly instead of silently leaving an operation as progenitor wrote it.
//!
//! - [`drop_api_version`]: progenitor 0.15.1 adds `api-version: <info.version>` to every
//!   request (`header_map.append(HeaderName::from_static("api-version"), ...)`), with no
//!   setting to turn it off. None of the providers defines that header, so the generated
//!   clients do not send it.
//! - [`route_through_hooks`]: each operation starts its request with
//!   `client.client.<method>(url)`, a URL string that reqwest parses whole on every request.
//!   It becomes `client.inner.request(&client.client, Method::<METHOD>, &client.baseurl, url)`
//!   (`embed_sessions_hooks::Hooks::request`), which builds the same URL from the base URL
//!   parsed once.
//! - [`decode_through_hooks`]: each typed answer is decoded with
//!   `ResponseValue::from_response(response)`, which clones the response's headers; it becomes
//!   `::embed_sessions_hooks::from_response(response)`, which moves them (same value, same
//!   errors). Every call is rewritten: codegen fails if one is left.

use quote::ToTokens;

/// Removes progenitor's `api-version` header statement from every generated function of the
/// client `file`; returns how many were removed (one per operation is expected).
pub fn drop_api_version(file: &mut syn::File) -> usize {
    each_fn_block(&mut file.items, &mut |block| {
        let before = block.stmts.len();
        block.stmts.retain(|s| !is_api_version_append(s));
        before - block.stmts.len()
    })
}

/// Makes every generated operation start its request with `Hooks::request`; returns how many
/// were rewritten (one per operation is expected).
pub fn route_through_hooks(file: &mut syn::File) -> usize {
    each_fn_block(&mut file.items, &mut |block| {
        block
            .stmts
            .iter_mut()
            .map(|stmt| match stmt {
                syn::Stmt::Local(syn::Local { init: Some(init), .. }) => {
                    route_chain(&mut init.expr)
                }
                _ => 0,
            })
            .sum()
    })
}

/// Makes every typed answer decode through `embed_sessions_hooks::from_response`; returns how
/// many calls were rewritten and how many `ResponseValue::from_response` calls are left
/// (expected: none).
pub fn decode_through_hooks(file: &mut syn::File) -> (usize, usize) {
    struct Decode {
        rewritten: usize,
        left: usize,
    }
    impl syn::visit_mut::VisitMut for Decode {
        fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
            syn::visit_mut::visit_expr_mut(self, expr);
            let syn::Expr::Call(call) = expr else { return };
            if !tokens(&call.func).ends_with("ResponseValue::from_response") {
                return;
            }
            if call.args.len() == 1 && tokens(&call.args[0]) == "response" {
                *expr = syn::parse_quote! { ::embed_sessions_hooks::from_response(response) };
                self.rewritten += 1;
            } else {
                self.left += 1;
            }
        }
    }
    let mut visit = Decode { rewritten: 0, left: 0 };
    syn::visit_mut::VisitMut::visit_file_mut(&mut visit, file);
    (visit.rewritten, visit.left)
}

/// Runs `f` on the body of every function in an `impl` of `items` (modules included) and sums
/// what it returns.
fn each_fn_block(items: &mut [syn::Item], f: &mut impl FnMut(&mut syn::Block) -> usize) -> usize {
    let mut n = 0;
    for item in items {
        match item {
            syn::Item::Mod(m) => {
                if let Some((_, items)) = m.content.as_mut() {
                    n += each_fn_block(items, f);
                }
            }
            syn::Item::Impl(imp) => {
                for i in &mut imp.items {
                    if let syn::ImplItem::Fn(func) = i {
                        n += f(&mut func.block);
                    }
                }
            }
            _ => {}
        }
    }
    n
}

/// `<map>.append(<...>::HeaderName::from_static("api-version"), <value>);`
fn is_api_version_append(stmt: &syn::Stmt) -> bool {
    let syn::Stmt::Expr(syn::Expr::MethodCall(call), Some(_)) = stmt else {
        return false;
    };
    call.method == "append"
        && call.args.len() == 2
        && tokens(&call.args[0]).ends_with("HeaderName::from_static(\"api-version\")")
}

/// Follows a builder chain (`a.b(..).c(..)?`) down to `client.client.<method>(url)` and
/// rewrites that call; 1 if it did.
fn route_chain(expr: &mut syn::Expr) -> usize {
    match expr {
        syn::Expr::Try(t) => route_chain(&mut t.expr),
        syn::Expr::MethodCall(call) => {
            let method = call.method.to_string();
            let verb = HTTP_METHODS.iter().find(|(name, _)| *name == method);
            match verb {
                Some((_, verb))
                    if tokens(&call.receiver) == "client.client"
                        && call.args.len() == 1
                        && tokens(&call.args[0]) == "url" =>
                {
                    let verb = syn::Ident::new(verb, proc_macro2::Span::call_site());
                    *expr = syn::parse_quote! {
                        client.inner.request(
                            &client.client,
                            ::reqwest::Method::#verb,
                            &client.baseurl,
                            url,
                        )
                    };
                    1
                }
                _ => route_chain(&mut call.receiver),
            }
        }
        _ => 0,
    }
}

/// reqwest's per-method shorthands and the `Method` constant each stands for.
const HTTP_METHODS: &[(&str, &str)] = &[
    ("get", "GET"),
    ("post", "POST"),
    ("put", "PUT"),
    ("patch", "PATCH"),
    ("delete", "DELETE"),
    ("head", "HEAD"),
];

/// An expression's tokens without spaces.
fn tokens(e: &syn::Expr) -> String {
    e.to_token_stream().to_string().replace(' ', "")
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
    fn typed_answers_decode_in_the_hooks() {
        let mut f = file(
            r#"mod builder { impl Op { pub async fn send(self) {
                match response.status().as_u16() {
                    200u16 => ResponseValue::from_response(response).await,
                    401u16 => Err(Error::ErrorResponse(ResponseValue::from_response(response).await?)),
                    204u16 => Ok(ResponseValue::empty(response)),
                    _ => Err(Error::UnexpectedResponse(response)),
                }
            } } }"#,
        );
        assert_eq!(decode_through_hooks(&mut f), (2, 0));
        let out = prettyplease::unparse(&f).split_whitespace().collect::<String>();
        assert!(!out.contains("ResponseValue::from_response"), "{out}");
        assert!(
            out.contains(
                "Error::ErrorResponse(::embed_sessions_hooks::from_response(response).await?,)"
            ),
            "{out}"
        );
        assert!(out.contains("ResponseValue::empty(response)"), "{out}");
        // A call this rewrite does not know is counted as left, for codegen to refuse.
        let mut f = file("fn f() { ResponseValue::from_response(other, 1); }");
        assert_eq!(decode_through_hooks(&mut f), (0, 1));
    }

    #[test]
    fn nothing_else_is_counted() {
        let mut f = file("mod builder { impl Op { pub async fn send(self) { let x = 1; } } }");
        assert_eq!(drop_api_version(&mut f), 0);
        assert_eq!(route_through_hooks(&mut f), 0);
    }

    #[test]
    fn the_request_starts_in_the_hooks() {
        let mut f = file(
            r#"mod builder { impl Op { pub async fn send(self) {
                let url = format!("{}/teams/{}", client.baseurl, encode_path(&id.to_string()));
                let mut request = client
                    .client
                    .delete(url)
                    .header(ACCEPT, HeaderValue::from_static("application/json"))
                    .build()?;
                let other = client.client.get(other_url);
                let rb = client.client.post(url).build()?;
            } } }"#,
        );
        assert_eq!(route_through_hooks(&mut f), 2);
        let out = prettyplease::unparse(&f);
        let squashed = out.split_whitespace().collect::<String>();
        assert!(
            squashed.contains(
                "client.inner.request(&client.client,::reqwest::Method::DELETE,&client.baseurl,url).header("
            ),
            "{out}"
        );
        assert!(squashed.contains("::reqwest::Method::POST,"), "{out}");
        // Only the operation's own request, with the URL it built.
        assert!(squashed.contains("client.client.get(other_url)"), "{out}");
    }
}

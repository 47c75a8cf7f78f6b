//! Rewrites of progenitor's output that no generation setting offers, applied by
//! `cargo xtask codegen` (the only writer of the generated files) before formatting. Each
//! counts what it did, and codegen fails unless the first two and the last rewrote one place per
//! operation and the third left no call unrewritten: should a progenitor upgrade emit something else,
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
//! - [`scope_the_request`]: the locals that build each operation's request (the request
//!   itself, its headers, the checked inputs) are scoped to a block that ends before the answer
//!   is awaited, so the operation's future no longer keeps room for them while it waits.

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

/// Ends the life of each generated operation's request-building locals before it awaits the
/// answer; returns how many operations were rewritten (one per operation is expected).
///
/// progenitor writes, after `let Self { client, .. } = self;`, the statements that check the
/// inputs and build `request`, then `let info = OperationInfo { .. };`,
/// `client.pre(&mut request, &info).await?;` and
/// `let result = client.exec(request, &info).await;`. A local of an `async fn` keeps its room
/// in the future until its scope ends, even once moved from, so the request (264 bytes), its
/// headers and the inputs stayed in the operation's future through every later await. They now
/// live in a block that ends with the exec future, awaited outside it:
/// `let info = ..; let result = { ..; client.pre(..).await?; client.exec(request, &info) }.await;`.
pub fn scope_the_request(file: &mut syn::File) -> usize {
    each_fn_block(&mut file.items, &mut |block| scope_block(block))
}

/// [`scope_the_request`] on one function body: 1 if it had progenitor's shape.
fn scope_block(block: &mut syn::Block) -> usize {
    let stmts = &block.stmts;
    let is_local = |s: &syn::Stmt, name: &str| matches!(s, syn::Stmt::Local(syn::Local { pat, .. }) if tokens(pat) == name);
    let destructure = stmts.iter().position(|s| tokens(s).starts_with("letSelf{client"));
    let info = stmts.iter().position(|s| is_local(s, "info"));
    let pre = stmts.iter().position(|s| tokens(s) == "client.pre(&mutrequest,&info).await?;");
    let exec =
        stmts.iter().position(|s| tokens(s) == "letresult=client.exec(request,&info).await;");
    let (Some(d), Some(i), Some(p), Some(e)) = (destructure, info, pre, exec) else {
        return 0;
    };
    if !(d < i && i < p && e == p + 1 && stmts[d + 1..i].iter().any(|s| is_local(s, "mutrequest")))
    {
        return 0;
    }
    let mut rest = block.stmts.split_off(d + 1);
    let after = rest.split_off(e - d); // from the statement after `let result = ..`
    rest.pop(); // `let result = client.exec(request, &info).await;`
    let info = rest.remove(i - d - 1);
    let scoped = rest;
    block.stmts.push(info);
    block.stmts.push(syn::parse_quote! {
        let result = {
            #(#scoped)*
            client.exec(request, &info)
        }
        .await;
    });
    block.stmts.extend(after);
    1
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

/// A piece of syntax's tokens without spaces.
fn tokens(e: &impl ToTokens) -> String {
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
    fn the_request_is_scoped_before_the_answer_is_awaited() {
        let op = r#"mod builder { impl Op { pub async fn send(self) -> R {
                let Self { client, key } = self;
                let key = key.map_err(Error::InvalidRequest)?;
                let url = format!("{}/x", client.baseurl,);
                let mut request = client.client.post(url).build()?;
                let info = OperationInfo { operation_id: "op" };
                client.pre(&mut request, &info).await?;
                let result = client.exec(request, &info).await;
                client.post(&result, &info).await?;
                let response = result?;
                Ok(response)
            } } }"#;
        let mut f = file(op);
        assert_eq!(scope_the_request(&mut f), 1);
        let squashed = prettyplease::unparse(&f).split_whitespace().collect::<String>();
        assert!(
            squashed.contains(
                "letSelf{client,key}=self;letinfo=OperationInfo{operation_id:\"op\",};\
                 letresult={letkey=key.map_err(Error::InvalidRequest)?;"
            ),
            "{squashed}"
        );
        assert!(
            squashed.contains(
                "client.pre(&mutrequest,&info).await?;client.exec(request,&info)}.await;\
                 client.post(&result,&info).await?;letresponse=result?;Ok(response)"
            ),
            "{squashed}"
        );
        // Rewritten once: the shape is gone, so a second pass finds nothing.
        assert_eq!(scope_the_request(&mut f), 0);
        // Another order (the request built after `info`) is not progenitor's: left alone.
        let moved = op.replace(
            "let mut request = client.client.post(url).build()?;\n                let info = OperationInfo { operation_id: \"op\" };",
            "let info = OperationInfo { operation_id: \"op\" };\n                let mut request = client.client.post(url).build()?;",
        );
        assert_ne!(moved, op);
        assert_eq!(scope_the_request(&mut file(&moved)), 0);
    }

    #[test]
    fn nothing_else_is_counted() {
        let mut f = file("mod builder { impl Op { pub async fn send(self) { let x = 1; } } }");
        assert_eq!(drop_api_version(&mut f), 0);
        assert_eq!(route_through_hooks(&mut f), 0);
        assert_eq!(scope_the_request(&mut f), 0);
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

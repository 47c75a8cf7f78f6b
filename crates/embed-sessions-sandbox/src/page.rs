//! The two HTML pages: `/` (providers, sandbox inputs, live requests) and the Vlens iframe
//! app's `/vlens-app/session?token=...`. Plain HTML and a little inline script; no build step.
//! Everything that came from a request is escaped (server side) or set with `textContent`
//! (in the browser).

use crate::server::{Reply, Req};
use crate::{INPUTS, Shared};

/// HTML-escapes text for element content and attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}\
h1{font-size:22px}h2{font-size:17px;margin-top:28px}\
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:4px 6px;\
text-align:left;vertical-align:top}th{background:#f3f3f3}code,pre{font:12px ui-monospace,monospace}\
pre{white-space:pre-wrap;word-break:break-all;margin:0;max-height:120px;overflow:auto}\
.s2{color:#176f2c}.s4{color:#a15c00}.s5,.s0{color:#b00020}";

/// `/`.
pub(crate) fn home(shared: &Shared) -> Reply {
    let u = &shared.urls;
    let mut inputs = String::new();
    for i in INPUTS {
        inputs.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>\n",
            escape(i.provider),
            escape(i.field),
            escape(i.value),
            escape(i.answer)
        ));
    }
    let html = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>embed-sessions sandbox</title>
<style>{STYLE}</style></head>
<body>
<h1>embed-sessions sandbox</h1>
<p>An offline stand-in of three providers. Any non-empty credential is accepted, except the
sandbox inputs below. Secrets are shown as <code>[REDACTED]</code>.</p>
<h2>Providers</h2>
<table>
<tr><th>Provider</th><th>Base URL</th><th>Environment variable</th></tr>
<tr><td>Vlens API</td><td><code>{vlens}</code></td><td><code>VLENS_BASE_URL</code></td></tr>
<tr><td>Vlens iframe app</td><td><code>{app}/session?token=…</code></td><td><code>VLENS_IFRAME_ORIGIN</code></td></tr>
<tr><td>VRPlatform</td><td><code>{vrp}</code></td><td><code>VRPLATFORM_BASE_URL</code></td></tr>
<tr><td>bunq</td><td><code>{bunq}</code></td><td><code>BUNQ_BASE_URL</code></td></tr>
</table>
<h2>Sandbox inputs</h2>
<table><tr><th>Provider</th><th>Where</th><th>Value</th><th>Answer</th></tr>
{inputs}</table>
<h2>Last requests <small id="count"></small></h2>
<table id="requests"><thead><tr><th>#</th><th>Time</th><th>Provider</th><th>Request</th>
<th>Status</th><th>Headers</th><th>Body</th></tr></thead><tbody></tbody></table>
<script>
let last = 0;
const body = document.querySelector('#requests tbody');
function cell(row, text, cls) {{
  const td = row.insertCell(); if (cls) td.className = cls;
  const pre = document.createElement('pre'); pre.textContent = text; td.appendChild(pre);
}}
async function poll() {{
  try {{
    const r = await fetch('/_sandbox/requests?after=' + last, {{cache: 'no-store'}});
    const data = await r.json();
    for (const q of data.requests) {{
      last = Math.max(last, q.id);
      const row = body.insertRow(0);
      row.dataset.id = q.id;
      cell(row, String(q.id)); cell(row, q.at); cell(row, q.provider);
      cell(row, q.method + ' ' + q.path);
      cell(row, (q.status === 0 ? 'reset' : String(q.status)) + (q.fault ? ' (fault ' + q.fault + ')' : ''),
           's' + String(q.status).charAt(0));
      cell(row, q.headers.map(h => h[0] + ': ' + h[1]).join('\n'));
      cell(row, q.body);
    }}
    while (body.rows.length > 200) body.deleteRow(body.rows.length - 1);
    document.getElementById('count').textContent = '(' + body.rows.length + ' shown, refreshed live)';
  }} catch (e) {{
    document.getElementById('count').textContent = '(sandbox unreachable)';
  }}
  setTimeout(poll, 1000);
}}
poll();
</script>
</body></html>
"#,
        vlens = escape(&u.vlens),
        app = escape(&u.vlens_app),
        vrp = escape(&u.vrplatform),
        bunq = escape(&u.bunq),
    );
    Reply::html(200, html)
}

/// `/vlens-app/session?token=...`: whether the sandbox issued the token and for whom. When
/// framed, it tells its parent with `postMessage({source: "vlens-sandbox", ...})`.
pub(crate) fn vlens_app(shared: &Shared, req: &Req) -> Reply {
    if req.path != "/session" || req.method != "GET" {
        return Reply::html(
            404,
            "<!doctype html><title>Not found</title><p>The Vlens sandbox app serves \
             <code>/session?token=…</code> only.</p>"
                .into(),
        );
    }
    let token = req.query("token").unwrap_or_default();
    let issued = {
        let mut state = shared.lock();
        state.recorder.secret(token);
        state.vlens.sessions.get(token).cloned()
    };
    let (status, state, user, detail) = match &issued {
        Some(s) => {
            let mut detail = format!(
                "<p>{} issued {} UTC; contract types: {}</p>",
                escape(s.kind),
                escape(&s.issued_at.format("%Y-%m-%d %H:%M:%S").to_string()),
                escape(&s.contract_types.iter().map(i64::to_string).collect::<Vec<_>>().join(", "))
            );
            if let Some(by) = &s.by {
                detail.push_str(&format!("<p>invited by {}</p>", escape(by)));
            }
            if !s.fields.is_empty() {
                detail.push_str(
                    "<table><tr><th>Type</th><th>Field</th><th>Pre-filled value</th></tr>",
                );
                for (t, k, v) in &s.fields {
                    detail.push_str(&format!(
                        "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                        escape(t),
                        escape(k),
                        escape(v)
                    ));
                }
                detail.push_str("</table>");
            }
            (200, "issued", s.user.clone(), detail)
        }
        None => (
            404,
            "unknown",
            String::new(),
            "<p>This token was not issued by this sandbox (or the sandbox was restarted).</p>"
                .to_string(),
        ),
    };
    let headline =
        if issued.is_some() { "Session issued by the sandbox" } else { "Unknown session token" };
    let html = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Vlens sandbox app</title>
<style>{STYLE} body{{background:#f7fbff}} #session-user{{font-size:20px}}</style></head>
<body>
<h1>Vlens sandbox app</h1>
<p id="session-state" data-state="{state}">{headline}</p>
<p>for <strong id="session-user">{user}</strong></p>
{detail}
<p id="framing"></p>
<script>
const framed = window.parent !== window;
document.getElementById('framing').textContent = framed ? 'Embedded in a frame.' : 'Opened top-level.';
if (framed) {{
  window.parent.postMessage({{
    source: 'vlens-sandbox',
    state: document.getElementById('session-state').dataset.state,
    user: document.getElementById('session-user').textContent
  }}, '*');
}}
</script>
</body></html>
"#,
        user = escape(&user),
    );
    Reply::html(status, html)
}

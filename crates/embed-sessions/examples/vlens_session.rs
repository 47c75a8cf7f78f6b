//! Mint a Vlens auth session and print the iframe snippet.
//!
//! ```sh
//! VLENS_API_KEY=... [VLENS_BASE_URL=https://...] \
//!   cargo run -p embed-sessions --example vlens_session -- +201234567890 [CONTRACT_TYPE_ID]
//! ```
//! The first argument is an E.164 phone number or an email address.

use embed_sessions::vlens::VlensClient;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let user = args.next().ok_or("usage: vlens_session <PHONE|EMAIL> [CONTRACT_TYPE_ID]")?;
    let vlens = VlensClient::from_env()?;
    let mut builder = vlens.auth_session();
    builder = if user.contains('@') { builder.email(user) } else { builder.phone(user) };
    if let Some(id) = args.next() {
        builder = builder.contract_type(id.parse()?);
    }
    match builder.send().await {
        Ok(session) => {
            println!("{}", session.iframe_html());
            Ok(())
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}

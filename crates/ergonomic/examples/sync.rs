//! The library in a dozen lines: sync one MCP server and print what came back.
//!
//! ```text
//! CLOUDFLARE_API_TOKEN=… cargo run -p cloudflare-mcp-sync --example sync -- <ACCOUNT_ID> <SERVER_ID>
//! ```
//!
//! The installable command (`crates/cli`, `cf-mcp-sync`) is the full tool: several ids,
//! text or JSON output, exit codes, progress, an embedded mock.

use cloudflare_mcp_sync::{Client, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let (Some(account_id), Some(server_id)) = (args.next(), args.next()) else {
        eprintln!("usage: sync <ACCOUNT_ID> <SERVER_ID>");
        std::process::exit(2);
    };
    // Credentials (and CLOUDFLARE_BASE_URL, proxies) from the environment.
    let client = Client::from_env()?;
    let report = client.sync(&account_id, &server_id).await?;
    match report.failure() {
        None => println!("{server_id}: {}", report.status),
        Some(failure) => println!("{server_id}: {} ({failure})", report.status),
    }
    Ok(())
}

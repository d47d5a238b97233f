//! The client of the run: where requests go (Cloudflare, a base URL, or the embedded
//! mock), with which credentials, timeouts and retries.

use cloudflare_mcp_sync::{
    Client, Credentials, ENV_API_KEY, ENV_API_TOKEN, ENV_EMAIL, Error, RetryPolicy,
};

use crate::exit::{Exit, exit_for_error};
use crate::job::Job;
use crate::mock;

/// Why the run stopped before any request.
pub struct Failure {
    /// The exit code.
    pub exit: Exit,
    /// What to say on stderr.
    pub message: String,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Self {
            exit: exit_for_error(&e),
            message: e.to_string(),
        }
    }
}

/// The client of the run, and whether it talks to the embedded mock.
pub async fn client(job: &Job, say: &impl Fn(&str)) -> Result<(Client, bool), Failure> {
    let (credentials, base_url, mock) = if job.mock {
        // No credential is read, so none can reach the mock.
        let url = start_mock().await?;
        if job.quiet == 0 {
            say(&format!("note: syncing against the embedded mock at {url}"));
        }
        (Credentials::api_token(mock::TOKEN), Some(url), true)
    } else {
        let credentials = Credentials::from_env().map_err(Error::Config)?;
        match credentials {
            Some(credentials) => {
                // Not refused: a smoke job against a local server uses such values.
                for part in credentials.too_short_to_redact() {
                    say(&format!(
                        "warning: the {part} is shorter than {} characters, so it is not \
                         Cloudflare's; it is not looked for in what servers send back",
                        cloudflare_mcp_sync::MIN_REDACTED_SECRET_CHARS
                    ));
                }
                (credentials, job.base_url.clone(), false)
            }
            // Never a silent mock: a CI job whose secret is misnamed must fail, not
            // report a success that synced nothing.
            None => {
                return Err(Failure {
                    exit: Exit::Usage,
                    message: format!(
                        "configuration error: no credentials: set {ENV_API_TOKEN}, or \
                         {ENV_EMAIL} and {ENV_API_KEY} (or pass --mock to sync against the \
                         embedded mock)"
                    ),
                });
            }
        }
    };
    let mut builder = Client::builder()
        .credentials(credentials)
        .total_timeout(job.timeout)
        .attempt_timeout(
            job.timeout
                .min(cloudflare_mcp_sync::DEFAULT_ATTEMPT_TIMEOUT),
        )
        .retry_policy(RetryPolicy::new().with_max_retries(job.retries))
        .user_agent_suffix(concat!("cf-mcp-sync/", env!("CARGO_PKG_VERSION")));
    if let Some(url) = base_url {
        builder = builder.base_url(url);
    }
    Ok((builder.build()?, mock))
}

async fn start_mock() -> Result<String, Failure> {
    mock::start().await.map_err(|e| Failure {
        exit: Exit::Failed,
        message: format!("cannot start the embedded mock: {e}"),
    })
}

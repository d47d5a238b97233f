//! The one attempt loop every operation runs through: the client's pacer, a
//! per-attempt and a total deadline, the body cap, retries, and the spans that show
//! them. It knows requests, responses and the one error type; what a response means is
//! the operation's decoder.

use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;
use tokio::time::Instant;
use tracing::Instrument;

use crate::error::{Error, TransportError, TransportKind};
use crate::header_facts::HeaderFacts;
use crate::pacer::{Pacer, Permit};
use crate::retry::{self, Decision, RetryPolicy};
use crate::scrub::Scrubber;
use crate::text::human_duration;
use crate::transport::{self, Request};

/// Everything an attempt needs that does not change between calls.
pub(crate) struct Executor {
    pub(crate) http: reqwest::Client,
    /// Auth (sensitive), user agent and accept: built once, cloned per request.
    pub(crate) headers: HeaderMap,
    pub(crate) retry: RetryPolicy,
    pub(crate) attempt_timeout: Duration,
    pub(crate) total_timeout: Duration,
    pub(crate) max_body_bytes: usize,
    /// Shared by every call through the client: the rate limit is the account's.
    pub(crate) pacer: Pacer,
    /// The credentials' values, taken out of every response's headers before they are
    /// read, and out of the decoded report or error (`redact.rs`).
    pub(crate) scrub: Scrubber,
    /// The wall clock each response's dates are read against, once per response
    /// (`SystemTime::now`; a test's own clock).
    pub(crate) wall_clock: fn() -> SystemTime,
}

/// Turns one response (status, headers and what they say, body, attempts so far) into
/// the operation's output or error.
pub(crate) type Decode<'a, T> =
    &'a (dyn Fn(u16, HeaderMap, HeaderFacts, &[u8], u32) -> Result<T, Error> + Sync);

/// What one call may still spend: the deadline it must finish by and the requests
/// already sent for the same id. A bulk run that queues a rate-limited id again passes
/// the id's budget on, so its total timeout covers every round and its attempt count
/// is every request sent, not the last round's.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallBudget {
    pub(crate) deadline: Instant,
    pub(crate) sent: u32,
}

impl Executor {
    /// A fresh budget: the client's total timeout from now, nothing sent.
    pub(crate) fn budget(&self) -> CallBudget {
        let now = Instant::now();
        // Beyond a year the clock's range is the only limit; a year is "no deadline" here.
        let deadline = now
            .checked_add(self.total_timeout.min(Duration::from_secs(365 * 24 * 3600)))
            .unwrap_or(now);
        CallBudget { deadline, sent: 0 }
    }

    /// Runs `request` until `decode` gives an output, an error not worth retrying, or
    /// the retry policy or `budget`'s deadline says stop. Records `attempts`, `status`
    /// and `ray_id` on the current span (the caller's, which names the operation).
    pub(crate) async fn run<T>(
        &self,
        request: &Request,
        decode: Decode<'_, T>,
        budget: CallBudget,
    ) -> Result<T, Error> {
        let CallBudget { deadline, sent } = budget;
        let span = tracing::Span::current();
        // `round` counts this call's requests, which the retry policy limits; `attempt`
        // counts every request sent for the id, which reports and errors give.
        let mut round: u32 = 0;
        // The error of the previous attempt, when this one is a retry: if the retry
        // cannot start in time, that error is the call's answer.
        let mut last: Option<Error> = None;
        loop {
            round += 1;
            let attempt = sent.saturating_add(round);
            // A call that never sends this attempt reports the requests before it.
            let permit = self
                .wait_for_turn(deadline, attempt - 1, last.take())
                .await?;
            let outcome = self
                .timed_attempt(request, decode, attempt, deadline, &span, permit)
                .await;
            let err = match outcome {
                Ok(output) => return Ok(output),
                Err(err) => err,
            };
            let (wait, err) = self.next_retry(err, round, attempt, deadline)?;
            // Dropping the call's future drops this sleep: cancellation is immediate.
            tokio::time::sleep(wait).await;
            last = Some(err);
        }
    }

    /// Waits for the pacer's turn within `deadline`. Waiting counts against the call's
    /// deadline; a hold (an earlier 429's advice) that outlasts it fails the call now,
    /// as a too-long advised wait does, rather than at the deadline. A retry that
    /// cannot start in time ends with the previous attempt's error, `last`.
    async fn wait_for_turn(
        &self,
        deadline: Instant,
        attempts_before: u32,
        last: Option<Error>,
    ) -> Result<Permit<'_>, Error> {
        let waited = tokio::time::timeout_at(deadline, self.pacer.acquire(deadline)).await;
        let message = match (waited, last) {
            (Ok(Ok(permit)), _) => return Ok(permit),
            (_, Some(err)) => return Err(err),
            (Ok(Err(until)), None) => {
                let now = Instant::now();
                format!(
                    "the rate limit holds requests for another {}, but only {} is left of the call's total timeout of {}",
                    human_duration(until.saturating_duration_since(now)),
                    human_duration(deadline.saturating_duration_since(now)),
                    human_duration(self.total_timeout)
                )
            }
            (Err(_), None) => format!(
                "the call's total timeout of {} was reached while pacing",
                human_duration(self.total_timeout)
            ),
        };
        Err(self.pacing_error(message, attempts_before))
    }

    /// One attempt under the attempt timeout (cut to what is left of the call), in its
    /// own span; its place under the limit is freed once it ends, answered or not.
    async fn timed_attempt<T>(
        &self,
        request: &Request,
        decode: Decode<'_, T>,
        attempt: u32,
        deadline: Instant,
        span: &tracing::Span,
        permit: Permit<'_>,
    ) -> Result<T, Error> {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let limit = remaining.min(self.attempt_timeout);
        let attempt_started = Instant::now();
        let attempt_span = tracing::debug_span!(
            "attempt",
            attempt,
            status = tracing::field::Empty,
            ray_id = tracing::field::Empty,
            elapsed_ms = tracing::field::Empty,
        );
        // Pinned in place: the combinators around it then move a pointer, not the
        // whole attempt future.
        let outcome = {
            let attempt_future =
                std::pin::pin!(self.attempt(request, decode, attempt, span, &permit));
            let timed = std::pin::pin!(tokio::time::timeout(limit, attempt_future));
            match in_span(attempt_span.clone(), timed).await {
                Ok(outcome) => outcome,
                Err(_) => Err(Error::Timeout(self.timeout_error(limit, remaining))),
            }
        };
        // Answered or not, the request no longer holds a place under the limit.
        drop(permit);
        let elapsed_ms = u64::try_from(attempt_started.elapsed().as_millis()).unwrap_or(u64::MAX);
        attempt_span.record("elapsed_ms", elapsed_ms);
        span.record("attempts", attempt);
        let err = match outcome {
            Ok(output) => {
                tracing::debug!(attempt, "answered");
                return Ok(output);
            }
            Err(err) => err.with_attempts(attempt),
        };
        for span in [span, &attempt_span] {
            if let Some(status) = err.status() {
                span.record("status", status);
            }
            if let Some(ray) = err.ray_id() {
                span.record("ray_id", ray);
            }
        }
        Err(err)
    }

    /// After attempt `attempt` (this call's `round`) failed with `err`: the wait before
    /// the next one and the error kept meanwhile, or `err` as the call's answer.
    fn next_retry(
        &self,
        err: Error,
        round: u32,
        attempt: u32,
        deadline: Instant,
    ) -> Result<(Duration, Error), Error> {
        // A 429 whose hold (advice or spent window) outlasts the call: no retry could
        // start in time, so the call fails now as rate limited, not after a backoff as
        // a pacing timeout.
        if let (Error::RateLimited(_), Some(until)) = (&err, self.pacer.holding_until())
            && until > deadline
        {
            let err = held_past_deadline(err, until);
            tracing::debug!(attempt, error = %err, reason = "the rate limit holds past the deadline", "giving up");
            return Err(err);
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        match self.retry.decide(
            round,
            err.is_retryable(),
            err.retry_after(),
            remaining,
            retry::jitter(),
        ) {
            Decision::RetryAfter(wait) => {
                tracing::info!(
                    attempt,
                    error = %err,
                    wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    "retrying"
                );
                Ok((wait, err))
            }
            Decision::GiveUp(reason) => {
                tracing::debug!(attempt, error = %err, reason = reason.as_str(), "giving up");
                Err(err)
            }
        }
    }

    /// One exchange; its headers read once (against one clock reading) and fed to the
    /// pacer, then handed with the response to the decoder.
    async fn attempt<T>(
        &self,
        request: &Request,
        decode: Decode<'_, T>,
        attempt: u32,
        call_span: &tracing::Span,
        permit: &Permit<'_>,
    ) -> Result<T, Error> {
        let response = transport::exchange(
            &self.http,
            request,
            &self.headers,
            self.max_body_bytes,
            &self.scrub,
        )
        .await?;
        let facts = HeaderFacts::read(&response.headers, (self.wall_clock)());
        let limited = response.status == 429;
        let advised = facts.retry_after.filter(|_| limited);
        permit.answered(facts.rate_limit.as_ref(), limited, advised);
        for span in [&tracing::Span::current(), call_span] {
            if span.is_disabled() {
                continue;
            }
            span.record("status", response.status);
            if let Some(ray) = &facts.ray_id {
                span.record("ray_id", ray.as_str());
            }
        }
        decode(
            response.status,
            response.headers,
            facts,
            response.body.as_slice(),
            attempt,
        )
    }

    /// The call ended before a request could start: a timeout not worth retrying.
    fn pacing_error(&self, message: String, attempts: u32) -> Error {
        let mut e = TransportError::new(TransportKind::Timeout, message);
        e.retryable = false;
        Error::Timeout(e).with_attempts(attempts)
    }

    fn timeout_error(&self, limit: Duration, remaining: Duration) -> TransportError {
        // The attempt's limit was cut to what was left of the call: the deadline is reached.
        let deadline_reached = remaining <= self.attempt_timeout;
        let message = if deadline_reached {
            format!(
                "the call's total timeout of {} was reached",
                human_duration(self.total_timeout)
            )
        } else {
            format!("attempt timed out after {}", human_duration(limit))
        };
        let mut e = TransportError::new(TransportKind::Timeout, message);
        e.retryable = !deadline_reached;
        e
    }
}

/// A 429 given up because the rate limit holds past the call's deadline, for longer
/// than the server's advice explains, says so, and its `retry_after` is that hold
/// (found by attack: a 1 s `Retry-After` beside a `Ratelimit` window of an hour said
/// "retry after 1s", and a window alone said nothing). An advice that explains it is
/// left as it was.
fn held_past_deadline(mut err: Error, until: Instant) -> Error {
    let hold = until.saturating_duration_since(Instant::now());
    if let Some(d) = err.details_mut()
        && d.retry_after.is_none_or(|advised| advised < hold)
    {
        d.retry_after = Some(hold);
        if d.problem.is_none() {
            d.problem = Some("the rate limit holds requests past the call's deadline".to_string());
        }
    }
    err
}

/// Runs `fut` inside `span`; skips the wrapper when no subscriber wants the span, which
/// is most of the cost of tracing on the hot path.
pub(crate) async fn in_span<F: std::future::Future>(span: tracing::Span, fut: F) -> F::Output {
    if span.is_disabled() {
        fut.await
    } else {
        fut.instrument(span).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ClientBuilder, Credentials};

    /// What a client built with `total_timeout` shares, its executor among it.
    fn client(total_timeout: Duration) -> crate::client_core::ClientCore {
        ClientBuilder::new()
            .credentials(Credentials::api_token("t0ken"))
            .total_timeout(total_timeout)
            .into_core()
            .expect("client")
    }

    /// A call's deadline is its total timeout from now, up to a year: longer ones
    /// (`Duration::MAX` included) mean "no deadline" and must not overflow the clock.
    #[tokio::test(start_paused = true)]
    async fn a_budget_runs_for_the_total_timeout_up_to_a_year() {
        const DAY: u64 = 24 * 3600;
        for (total, expected) in [
            (Duration::from_secs(60), Duration::from_secs(60)),
            (Duration::from_secs(30 * DAY), Duration::from_secs(30 * DAY)),
            (
                Duration::from_secs(365 * DAY),
                Duration::from_secs(365 * DAY),
            ),
            (
                Duration::from_secs(400 * DAY),
                Duration::from_secs(365 * DAY),
            ),
            (Duration::MAX, Duration::from_secs(365 * DAY)),
        ] {
            let core = client(total);
            let now = Instant::now();
            let budget = core.executor.budget();
            assert_eq!(budget.deadline - now, expected, "{total:?}");
            assert_eq!(budget.sent, 0);
        }
    }

    /// A request's first round that waits out its deadline in line, behind another
    /// request of the same client, fails as a pacing timeout: not retryable, with the
    /// requests sent before it as its attempts. Only a bulk id's later round has a
    /// deadline past that of the request ahead of it, so the budget here is set by hand.
    #[tokio::test(start_paused = true)]
    async fn a_deadline_reached_while_waiting_in_line_is_a_pacing_timeout() {
        let core = client(Duration::from_secs(60));
        let executor = &core.executor;
        // The first request of a client goes alone: until it is answered (or
        // `ALONE_AT_MOST` passes), the next one waits.
        let alone = executor
            .pacer
            .acquire(Instant::now() + Duration::from_secs(3600))
            .await
            .expect("first place");
        let request = Request {
            method: reqwest::Method::POST,
            url: "http://127.0.0.1:9/never".parse().expect("url"),
        };
        let started = Instant::now();
        let budget = CallBudget {
            deadline: started + crate::pacer::ALONE_AT_MOST / 2,
            sent: 3,
        };
        let never: Decode<'_, ()> = &|_, _, _, _, _| unreachable!("nothing is sent");
        let err = executor.run(&request, never, budget).await.unwrap_err();
        assert_eq!(Instant::now(), budget.deadline, "failed at the deadline");
        assert!(matches!(err, Error::Timeout(_)), "{err:?}");
        assert!(!err.is_retryable());
        assert_eq!(err.attempts(), 3, "the requests sent before this round");
        assert!(
            err.to_string()
                .contains("the call's total timeout of 1m was reached while pacing"),
            "{err}"
        );
        drop(alone);
    }

    /// The clock readings taken by [`counted_clock`], a fixed wall clock.
    static CLOCK_READINGS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    const CLOCK_NOW: Duration = Duration::from_secs(1_800_000_000);

    fn counted_clock() -> SystemTime {
        CLOCK_READINGS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        SystemTime::UNIX_EPOCH + CLOCK_NOW
    }

    /// A local server whose every answer is a 429 with `Retry-After` as an HTTP date
    /// 20 s after [`CLOCK_NOW`]; its base URL.
    async fn limited_by_date() -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let date =
            httpdate::fmt_http_date(SystemTime::UNIX_EPOCH + CLOCK_NOW + Duration::from_secs(20));
        let body = r#"{"success":false,"errors":[{"code":971,"message":"slow down"}]}"#;
        let answer = format!(
            "HTTP/1.1 429 Too Many Requests\r\nretry-after: {date}\r\nx-ratelimit-reset: 1800000045\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut request = Vec::new();
                let mut chunk = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut chunk).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(chunk.get(..n).unwrap_or_default()),
                    }
                }
                let _ = socket.write_all(answer.as_bytes()).await;
            }
        });
        base
    }

    /// One response, one reading of its headers against one reading of the clock: the
    /// wait an HTTP-date `Retry-After` names is the same value for the pacer (its hold)
    /// and the error (`retry_after`), and no second reading can make them differ.
    #[tokio::test]
    async fn a_response_s_headers_are_read_against_one_clock_reading() {
        let mut core = ClientBuilder::new()
            .credentials(Credentials::api_token("t0ken"))
            .base_url(limited_by_date().await)
            .retry_policy(crate::RetryPolicy::disabled())
            .into_core()
            .expect("client");
        core.executor.wall_clock = counted_clock;
        let before = CLOCK_READINGS.load(std::sync::atomic::Ordering::SeqCst);
        let started = Instant::now();
        let err = core
            .sync_within("acc", "srv", core.budget())
            .await
            .unwrap_err();
        let readings = CLOCK_READINGS.load(std::sync::atomic::Ordering::SeqCst) - before;
        assert!(matches!(err, Error::RateLimited(_)), "{err:?}");
        assert_eq!(readings, 1, "one response, one clock reading");
        assert_eq!(err.retry_after(), Some(Duration::from_secs(20)));
        // The pacer holds for that same wait, from when the answer came.
        let hold = core.executor.pacer.holding_until().expect("a hold") - started;
        assert!(
            hold <= Duration::from_secs(20) + started.elapsed(),
            "{hold:?}"
        );
        assert!(hold >= Duration::from_secs(20), "{hold:?}");
    }
}

//! The one attempt loop every operation runs through: the client's pacer, a
//! per-attempt and a total deadline, the body cap, retries, and the spans that show
//! them. It knows requests, responses and the one error type; what a response means is
//! the operation's decoder.

use std::time::Duration;

use reqwest::header::HeaderMap;
use tokio::time::Instant;
use tracing::Instrument;

use crate::error::{Error, TransportError, TransportKind};
use crate::pacer::{Pacer, Permit};
use crate::rate_limit::RateLimit;
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
}

/// Turns one response (status, headers, body, attempts so far) into the operation's
/// output or error.
pub(crate) type Decode<'a, T> = &'a (dyn Fn(u16, HeaderMap, &[u8], u32) -> Result<T, Error> + Sync);

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
            // What a call that never sends this attempt reports: the requests before it.
            let attempts_before = attempt - 1;
            // Waiting for a turn counts against the call's deadline; a hold (an earlier
            // 429's advice) that outlasts it fails the call now, as a too-long advised
            // wait does, rather than at the deadline.
            let waited = tokio::time::timeout_at(deadline, self.pacer.acquire(deadline)).await;
            let permit = match (waited, last.take()) {
                (Ok(Ok(permit)), _) => permit,
                // A retry that cannot start in time: the previous attempt's error stands.
                (_, Some(err)) => return Err(err),
                (Ok(Err(until)), None) => {
                    let now = Instant::now();
                    return Err(self.pacing_error(
                        format!(
                            "the rate limit holds requests for another {}, but only {} is left of the call's total timeout of {}",
                            human_duration(until.saturating_duration_since(now)),
                            human_duration(deadline.saturating_duration_since(now)),
                            human_duration(self.total_timeout)
                        ),
                        attempts_before,
                    ));
                }
                (Err(_), None) => {
                    return Err(self.pacing_error(
                        format!(
                            "the call's total timeout of {} was reached while pacing",
                            human_duration(self.total_timeout)
                        ),
                        attempts_before,
                    ));
                }
            };
            let remaining = deadline.saturating_duration_since(Instant::now());
            let budget = remaining.min(self.attempt_timeout);
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
                    std::pin::pin!(self.attempt(request, decode, attempt, &span, &permit));
                let timed = std::pin::pin!(tokio::time::timeout(budget, attempt_future));
                match in_span(attempt_span.clone(), timed).await {
                    Ok(outcome) => outcome,
                    Err(_) => Err(Error::Timeout(self.timeout_error(budget, remaining))),
                }
            };
            // Answered or not, the request no longer holds a place under the limit.
            drop(permit);
            let elapsed_ms =
                u64::try_from(attempt_started.elapsed().as_millis()).unwrap_or(u64::MAX);
            attempt_span.record("elapsed_ms", elapsed_ms);
            span.record("attempts", attempt);
            let err = match outcome {
                Ok(output) => {
                    tracing::debug!(attempt, "answered");
                    return Ok(output);
                }
                Err(err) => err.with_attempts(attempt),
            };
            if let Some(status) = err.status() {
                span.record("status", status);
                attempt_span.record("status", status);
            }
            if let Some(ray) = err.ray_id() {
                span.record("ray_id", ray);
                attempt_span.record("ray_id", ray);
            }
            // A 429 whose hold (advice or spent window) outlasts the call: no retry
            // could start in time, so the call fails now as rate limited, not after a
            // backoff as a pacing timeout.
            if matches!(err, Error::RateLimited(_))
                && self.pacer.holding_until().is_some_and(|t| t > deadline)
            {
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
                    // Dropping the call's future drops this sleep: cancellation is immediate.
                    tokio::time::sleep(wait).await;
                    last = Some(err);
                }
                Decision::GiveUp(reason) => {
                    tracing::debug!(attempt, error = %err, reason = reason.as_str(), "giving up");
                    return Err(err);
                }
            }
        }
    }

    /// One exchange, its rate-limit headers fed to the pacer, then the decoder.
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
        let limited = response.status == 429;
        let advised = limited
            .then(|| retry::advised_wait(&response.headers, std::time::SystemTime::now()))
            .flatten();
        permit.answered(
            RateLimit::from_headers(&response.headers).as_ref(),
            limited,
            advised,
        );
        for span in [&tracing::Span::current(), call_span] {
            if span.is_disabled() {
                continue;
            }
            span.record("status", response.status);
            if let Some(ray) = crate::decode::ray_id(&response.headers) {
                span.record("ray_id", ray.as_str());
            }
        }
        decode(
            response.status,
            response.headers,
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

    fn timeout_error(&self, budget: Duration, remaining: Duration) -> TransportError {
        // The attempt's budget was cut to what was left of the call: the deadline is reached.
        let deadline_reached = remaining <= self.attempt_timeout;
        let message = if deadline_reached {
            format!(
                "the call's total timeout of {} was reached",
                human_duration(self.total_timeout)
            )
        } else {
            format!("attempt timed out after {}", human_duration(budget))
        };
        let mut e = TransportError::new(TransportKind::Timeout, message);
        e.retryable = !deadline_reached;
        e
    }
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
        let never: Decode<'_, ()> = &|_, _, _, _| unreachable!("nothing is sent");
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
}

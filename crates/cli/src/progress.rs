//! The progress bar of a run over several ids: on a terminal only, on stderr.

use std::time::Duration;

use cloudflare_mcp_sync::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar for `total` ids, drawn on stderr (indicatif draws nothing when stderr is not
/// a terminal; the caller also leaves it out for `-q` and `-v`).
pub fn bar(total: usize) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(
        Some(u64::try_from(total).unwrap_or(u64::MAX)),
        ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} {msg} [{elapsed}]") {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Moves `bar` to where a bulk sync stands.
pub fn update(bar: &ProgressBar, p: &Progress) {
    bar.set_position(u64::try_from(p.done).unwrap_or(u64::MAX));
    bar.set_message(message(p.failed, p.waiting));
}

/// "done, 2 failed, waiting 4 s for the rate limit".
pub fn message(failed: usize, waiting: Option<Duration>) -> String {
    let mut text = String::from("done");
    if failed > 0 {
        text.push_str(&format!(", {failed} failed"));
    }
    if let Some(wait) = waiting {
        text.push_str(&format!(
            ", waiting {} s for the rate limit",
            wait.as_secs_f64().ceil()
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_says_failures_and_waits() {
        assert_eq!(message(0, None), "done");
        assert_eq!(
            message(2, Some(Duration::from_millis(3_200))),
            "done, 2 failed, waiting 4 s for the rate limit"
        );
    }
}

//! The order in which the pacer's waiting requests take their turns: the order they
//! asked. Kept apart from the pacer's arithmetic (`pacer.rs`), which decides *whether*
//! a request may start; this decides *which* one looks first.

use std::collections::VecDeque;

use tokio::sync::futures::Notified;

/// Tickets of the requests waiting, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Line {
    tickets: VecDeque<u64>,
    next: u64,
}

impl Line {
    /// A ticket at the end of the line.
    pub(crate) fn join(&mut self) -> u64 {
        let ticket = self.next;
        self.next = self.next.wrapping_add(1);
        self.tickets.push_back(ticket);
        ticket
    }

    /// Whether `ticket` is the oldest waiting.
    pub(crate) fn is_first(&self, ticket: u64) -> bool {
        self.tickets.front() == Some(&ticket)
    }

    /// Takes `ticket` out of the line; true if it was the first (the next one may look).
    pub(crate) fn leave(&mut self, ticket: u64) -> bool {
        let was_first = self.is_first(ticket);
        self.tickets.retain(|t| *t != ticket);
        was_first
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.tickets.is_empty()
    }
}

/// Waits until either notification comes.
pub(crate) async fn either(a: Notified<'_>, b: Notified<'_>) {
    let mut a = std::pin::pin!(a);
    let mut b = std::pin::pin!(b);
    std::future::poll_fn(|cx| {
        if a.as_mut().poll(cx).is_ready() || b.as_mut().poll(cx).is_ready() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::Line;

    #[test]
    fn tickets_are_first_in_the_order_they_joined_and_leave_from_anywhere() {
        let mut line = Line::default();
        let (a, b, c) = (line.join(), line.join(), line.join());
        assert!(line.is_first(a) && !line.is_first(b));
        assert!(!line.leave(b), "b was not first");
        assert!(line.leave(a), "a was first");
        assert!(line.is_first(c));
        assert!(line.leave(c));
        assert!(line.is_empty());
    }
}

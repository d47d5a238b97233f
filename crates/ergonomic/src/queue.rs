//! The order in which the pacer's waiting requests take their turns: the order they
//! asked. Kept apart from the pacer's arithmetic (`pacer.rs`), which decides *whether*
//! a request may start; this decides *which* one looks first.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::Notify;
use tokio::sync::futures::Notified;

/// Tickets of the requests waiting, oldest first, each with the bell that tells it that
/// it has become first (made when it first waits behind another).
///
/// One bell per waiter, rung for the new first only: a bell shared by the whole line
/// woke every waiter at every start, which at 128 calls in flight cost more than the
/// calls themselves (found by profiling: 2.8 times the raw client's instructions).
#[derive(Debug, Default)]
pub(crate) struct TurnQueue {
    tickets: VecDeque<(u64, Option<Arc<Notify>>)>,
    next: u64,
}

impl TurnQueue {
    /// A ticket at the end of the queue.
    pub(crate) fn join(&mut self) -> u64 {
        let ticket = self.next;
        self.next = self.next.wrapping_add(1);
        self.tickets.push_back((ticket, None));
        ticket
    }

    /// Whether `ticket` is the oldest waiting.
    pub(crate) fn is_first(&self, ticket: u64) -> bool {
        self.tickets.front().is_some_and(|(t, _)| *t == ticket)
    }

    /// The bell of `ticket`, which is not first: rung when it becomes first. Asked
    /// under the same lock as [`TurnQueue::is_first`], so no ring can fall between the two
    /// (and a ring before the wait is kept: `notify_one` stores it).
    pub(crate) fn bell(&mut self, ticket: u64) -> Option<Arc<Notify>> {
        let (_, bell) = self.tickets.iter_mut().find(|(t, _)| *t == ticket)?;
        Some(bell.get_or_insert_with(Arc::default).clone())
    }

    /// Takes `ticket` out of the line; if it was the first, the bell of the new first
    /// (to ring once the lock is released), and whether it was first.
    pub(crate) fn leave(&mut self, ticket: u64) -> (bool, Option<Arc<Notify>>) {
        let was_first = self.is_first(ticket);
        self.tickets.retain(|(t, _)| *t != ticket);
        let next = was_first
            .then(|| self.tickets.front().and_then(|(_, bell)| bell.clone()))
            .flatten();
        (was_first, next)
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
    use super::TurnQueue;

    #[test]
    fn tickets_are_first_in_the_order_they_joined_and_leave_from_anywhere() {
        let mut queue = TurnQueue::default();
        let (a, b, c) = (queue.join(), queue.join(), queue.join());
        assert!(queue.is_first(a) && !queue.is_first(b));
        assert!(!queue.leave(b).0, "b was not first");
        let c_bell = queue.bell(c).unwrap();
        let (was_first, rung) = queue.leave(a);
        assert!(was_first, "a was first");
        assert!(
            std::sync::Arc::ptr_eq(&rung.unwrap(), &c_bell),
            "c's bell rings"
        );
        assert!(queue.is_first(c));
        assert!(queue.leave(c).0);
        assert!(queue.is_empty());
    }
}

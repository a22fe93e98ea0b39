//! Independent deterministic jobs (simulations) on several threads, results in job order: what
//! a job computes never depends on how many run at once, only the wall time does.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

/// `f` over `items` on `threads` threads (at least one), each taking the next item in order;
/// the results in the items' order. A job that panics panics the caller once all have ended.
pub(crate) fn map_in_order<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<R>>> = items.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..threads.clamp(1, items.len().max(1)) {
            s.spawn(|| {
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(k) else { break };
                    let r = f(item);
                    *results[k].lock().unwrap_or_else(PoisonError::into_inner) = Some(r);
                }
            });
        }
    });
    results
        .into_iter()
        .map(|m| {
            m.into_inner()
                .unwrap_or_else(PoisonError::into_inner)
                .expect("every job ran: a panic would have ended the scope")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_in_the_items_order_whatever_the_threads() {
        let items: Vec<u64> = (0..37).collect();
        // Later items finish first: the order must still be the items'.
        let f = |&i: &u64| {
            std::thread::sleep(std::time::Duration::from_micros(50 * (37 - i)));
            i * i
        };
        let want: Vec<u64> = items.iter().map(|i| i * i).collect();
        for threads in [0, 1, 2, 5, 100] {
            assert_eq!(map_in_order(&items, threads, f), want, "{threads} threads");
        }
        assert!(map_in_order(&[] as &[u64], 4, f).is_empty());
    }
}

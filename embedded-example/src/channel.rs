//! A tiny async channel: a `heapless::Deque` and two wakers behind a
//! critical section. No allocator, no CAS (so it runs on the Cortex-M0), no
//! embassy-sync. One sending task and one receiving task per channel: a
//! second waiter on the same side would replace the first one's waker.

use core::cell::RefCell;
use core::future::poll_fn;
use core::task::{Poll, Waker};

use critical_section::Mutex;
use heapless::Deque;

struct Inner<T, const N: usize> {
    queue: Deque<T, N>,
    rx: Option<Waker>,
    tx: Option<Waker>,
}

pub struct Channel<T, const N: usize> {
    inner: Mutex<RefCell<Inner<T, N>>>,
}

fn park(slot: &mut Option<Waker>, waker: &Waker) {
    match slot {
        Some(w) if w.will_wake(waker) => {}
        _ => *slot = Some(waker.clone()),
    }
}

impl<T, const N: usize> Default for Channel<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, const N: usize> Channel<T, N> {
    pub const fn new() -> Self {
        Self {
            inner: Mutex::new(RefCell::new(Inner {
                queue: Deque::new(),
                rx: None,
                tx: None,
            })),
        }
    }

    /// Queues `value` unless the channel is full (then gives it back).
    pub fn try_send(&self, value: T) -> Result<(), T> {
        critical_section::with(|cs| {
            let mut inner = self.inner.borrow_ref_mut(cs);
            inner.queue.push_back(value)?;
            if let Some(w) = inner.rx.take() {
                w.wake();
            }
            Ok(())
        })
    }

    /// Queues `value`, waiting while the channel is full.
    pub async fn send(&self, value: T) {
        let mut value = Some(value);
        poll_fn(|cx| {
            critical_section::with(|cs| {
                let mut inner = self.inner.borrow_ref_mut(cs);
                let v = value.take().expect("polled after completion");
                match inner.queue.push_back(v) {
                    Ok(()) => {
                        if let Some(w) = inner.rx.take() {
                            w.wake();
                        }
                        Poll::Ready(())
                    }
                    Err(v) => {
                        value = Some(v);
                        park(&mut inner.tx, cx.waker());
                        Poll::Pending
                    }
                }
            })
        })
        .await
    }

    /// Takes the oldest value, waiting while the channel is empty.
    pub async fn recv(&self) -> T {
        poll_fn(|cx| {
            critical_section::with(|cs| {
                let mut inner = self.inner.borrow_ref_mut(cs);
                match inner.queue.pop_front() {
                    Some(v) => {
                        if let Some(w) = inner.tx.take() {
                            w.wake();
                        }
                        Poll::Ready(v)
                    }
                    None => {
                        park(&mut inner.rx, cx.waker());
                        Poll::Pending
                    }
                }
            })
        })
        .await
    }
}

//! A tower middleware: any tower service behind a breaker.
//!
//! Like tower's `LoadShed`, the service fails fast in `call` when the
//! breaker rejects: the inner service is not called, and the future resolves
//! at once to [`CallError::Rejected`], which carries the reason and, when
//! open, how long until a trial call is let through. Readiness is the inner
//! service's. The permit taken in `call` travels in the response future: a
//! future dropped before it completes gives its permit back without an
//! outcome (as a dropped permit does).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use halfopen::{CallError, Clock, Outcome, PermitToken, Rejected, StdClock};
use tower::{Layer, Service};

use crate::registry::ServiceBreaker;

/// How a result of the inner service counts: success, failure or ignored.
///
/// Implemented by [`HttpStatus`] (the default), [`ErrorsFail`] and any
/// `Fn(&Result<Res, E>) -> Outcome`.
pub trait Classify<Res, E> {
    /// The outcome `result` records.
    fn classify(&self, result: &Result<Res, E>) -> Outcome;
}

impl<F, Res, E> Classify<Res, E> for F
where
    F: Fn(&Result<Res, E>) -> Outcome,
{
    fn classify(&self, result: &Result<Res, E>) -> Outcome {
        self(result)
    }
}

/// HTTP responses: a 5xx status and an error are failures, a 4xx is
/// ignored (the caller's mistake says nothing about the downstream), any
/// other status is a success.
#[derive(Debug, Clone, Copy, Default)]
pub struct HttpStatus;

impl<B, E> Classify<http::Response<B>, E> for HttpStatus {
    fn classify(&self, result: &Result<http::Response<B>, E>) -> Outcome {
        match result {
            Ok(r) if r.status().is_server_error() => Outcome::Failure,
            Ok(r) if r.status().is_client_error() => Outcome::Ignore,
            Ok(_) => Outcome::Success,
            Err(_) => Outcome::Failure,
        }
    }
}

/// Any service: an error is a failure, a response a success.
#[derive(Debug, Clone, Copy, Default)]
pub struct ErrorsFail;

impl<Res, E> Classify<Res, E> for ErrorsFail {
    fn classify(&self, result: &Result<Res, E>) -> Outcome {
        match result {
            Ok(_) => Outcome::Success,
            Err(_) => Outcome::Failure,
        }
    }
}

/// Wraps a service in a [`BreakerService`]; get one from
/// [`Breakers::layer`](crate::Breakers::layer).
///
/// ```
/// use halfopen::{presets, CallError, RejectReason};
/// use halfopen_service::Breakers;
/// use tower::{service_fn, Service, ServiceBuilder, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let breakers = Breakers::new(presets::CRITICAL_SERVICE);
/// let upstream = service_fn(|_req: http::Request<()>| async {
///     Ok::<_, std::convert::Infallible>(
///         http::Response::builder().status(503).body(()).unwrap(),
///     )
/// });
/// let mut client = ServiceBuilder::new()
///     .layer(breakers.layer("upstream"))
///     .service(upstream);
///
/// for _ in 0..2 {
///     let r = client.ready().await.unwrap().call(http::Request::new(())).await;
///     assert_eq!(r.unwrap().status(), 503);
/// }
/// let r = client.ready().await.unwrap().call(http::Request::new(())).await;
/// let Err(CallError::Rejected(rejected)) = r else { panic!("not rejected") };
/// assert_eq!(rejected.reason(), RejectReason::Open);
/// assert_eq!(rejected.retry_after_ms(), Some(300_000));
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct BreakerLayer<C = StdClock, K = HttpStatus> {
    breaker: Arc<ServiceBreaker<C>>,
    classify: K,
}

impl<C> BreakerLayer<C, HttpStatus> {
    /// A layer over `breaker` that classifies HTTP responses by status.
    pub fn new(breaker: Arc<ServiceBreaker<C>>) -> Self {
        Self {
            breaker,
            classify: HttpStatus,
        }
    }
}

impl<C, K> BreakerLayer<C, K> {
    /// The same layer with another classifier ([`ErrorsFail`] for a service
    /// that is not HTTP, or a closure).
    pub fn classify<K2>(self, classify: K2) -> BreakerLayer<C, K2> {
        BreakerLayer {
            breaker: self.breaker,
            classify,
        }
    }

    /// The breaker.
    pub fn breaker(&self) -> &Arc<ServiceBreaker<C>> {
        &self.breaker
    }
}

impl<S, C, K: Clone> Layer<S> for BreakerLayer<C, K> {
    type Service = BreakerService<S, C, K>;

    fn layer(&self, inner: S) -> Self::Service {
        BreakerService {
            inner,
            breaker: Arc::clone(&self.breaker),
            classify: self.classify.clone(),
        }
    }
}

/// A service behind a breaker (see [`BreakerLayer`]). Its error is the
/// breaker's [`CallError`]: `Rejected` (the inner service was not called)
/// or `Inner` (the inner service's error).
#[derive(Debug, Clone)]
pub struct BreakerService<S, C = StdClock, K = HttpStatus> {
    inner: S,
    breaker: Arc<ServiceBreaker<C>>,
    classify: K,
}

impl<S, C, K> BreakerService<S, C, K> {
    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S, Req, C, K> Service<Req> for BreakerService<S, C, K>
where
    S: Service<Req>,
    C: Clock,
    K: Classify<S::Response, S::Error> + Clone,
{
    type Response = S::Response;
    type Error = CallError<S::Error>;
    type Future = ResponseFuture<S::Future, C, K>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(CallError::Inner)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        match self.breaker.try_acquire_token() {
            Ok(token) => {
                let started_ms = self
                    .breaker
                    .observer()
                    .is_timed()
                    .then(|| self.breaker.clock().now_ms());
                ResponseFuture {
                    inner: Some(self.inner.call(req)),
                    call: Some(Pending {
                        guard: Guard {
                            breaker: Arc::clone(&self.breaker),
                            token: Some(token),
                            started_ms,
                        },
                        classify: self.classify.clone(),
                    }),
                    rejected: None,
                }
            }
            Err(rejected) => ResponseFuture {
                inner: None,
                call: None,
                rejected: Some(rejected),
            },
        }
    }
}

/// A call's permit: recorded with the outcome, or given back if dropped.
struct Guard<C: Clock> {
    breaker: Arc<ServiceBreaker<C>>,
    token: Option<PermitToken>,
    started_ms: Option<u64>,
}

impl<C: Clock> Guard<C> {
    fn record(mut self, outcome: Outcome) {
        if let Some(token) = self.token.take() {
            self.breaker.record_token(token, outcome);
            if let Some(start) = self.started_ms {
                let ms = self.breaker.clock().now_ms().saturating_sub(start);
                self.breaker.observer().observe_duration_ms(ms);
            }
        }
    }
}

impl<C: Clock> Drop for Guard<C> {
    fn drop(&mut self) {
        if let Some(token) = self.token.take() {
            self.breaker.release_token(token);
        }
    }
}

struct Pending<C: Clock, K> {
    guard: Guard<C>,
    classify: K,
}

pin_project_lite::pin_project! {
    /// The response future of a [`BreakerService`].
    pub struct ResponseFuture<F, C: Clock, K> {
        #[pin]
        inner: Option<F>,
        call: Option<Pending<C, K>>,
        rejected: Option<Rejected>,
    }
}

impl<F, C: Clock, K> std::fmt::Debug for ResponseFuture<F, C, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("rejected", &self.rejected)
            .finish_non_exhaustive()
    }
}

impl<F, Res, E, C, K> Future for ResponseFuture<F, C, K>
where
    F: Future<Output = Result<Res, E>>,
    C: Clock,
    K: Classify<Res, E>,
{
    type Output = Result<Res, CallError<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Some(inner) = this.inner.as_pin_mut() else {
            // Rejected: the inner service was not called. (Polled again
            // after that, it says so again.)
            let rejected = this
                .rejected
                .unwrap_or(Rejected::new(halfopen::RejectReason::Open, None));
            return Poll::Ready(Err(CallError::Rejected(rejected)));
        };
        let result = ready!(inner.poll(cx));
        if let Some(call) = this.call.take() {
            let outcome = call.classify.classify(&result);
            call.guard.record(outcome);
        }
        Poll::Ready(result.map_err(CallError::Inner))
    }
}

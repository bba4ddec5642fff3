//! [`PodGuard`]: a rented pod that is terminated on every way out — success, error, a stop
//! request, a panic (its `Drop`) — with termination retried and then verified by querying the
//! pod. What `Drop` cannot reach (kill -9, power loss) the ledger keeps for [`reap`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::api::{ApiError, CloudType, CreatePod, Pod, PodApi, PodStatus};
use crate::ledger::{now, EntryState, Ledger, LedgerEntry, LedgerError};

#[derive(Debug, thiserror::Error)]
pub enum PodError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("no GPU type had capacity: {}", tried.join("; "))]
    NoCapacity { tried: Vec<String> },
    #[error("pod {pod} {reason} after {waited_s} s; it was terminated")]
    NeverReady {
        pod: String,
        reason: String,
        waited_s: u64,
    },
    #[error("pod {pod} could not be terminated after {attempts} attempts ({last}); it may still bill — run `mh-train remote reap`")]
    TerminateUnverified {
        pod: String,
        attempts: u32,
        last: String,
    },
    #[error("stopped")]
    Stopped,
}

/// How hard termination tries before giving up.
#[derive(Debug, Clone)]
pub struct GuardOptions {
    /// Terminate requests before giving up.
    pub attempts: u32,
    /// Wait between attempts (doubled each time).
    pub backoff: Duration,
    /// Status polls after an accepted terminate before calling it unverified.
    pub verify_polls: u32,
}

impl Default for GuardOptions {
    fn default() -> Self {
        GuardOptions {
            attempts: 5,
            backoff: Duration::from_secs(2),
            verify_polls: 10,
        }
    }
}

/// One GPU type and cloud to try, with its quoted price (USD per hour).
#[derive(Debug, Clone, PartialEq)]
pub struct Offer {
    pub gpu_type_id: String,
    pub cloud: CloudType,
    pub price_per_hr: Option<f64>,
}

/// A pod that exists (or may) and is terminated when the guard goes.
pub struct PodGuard<'a> {
    api: &'a dyn PodApi,
    ledger: &'a Ledger,
    entry: LedgerEntry,
    opts: GuardOptions,
    done: bool,
}

impl<'a> PodGuard<'a> {
    /// Create a pod from `request` on the first of `offers` that has capacity (its GPU type and
    /// cloud replace the request's), writing the intent to the ledger before each attempt.
    pub fn launch(
        api: &'a dyn PodApi,
        ledger: &'a Ledger,
        request: &CreatePod,
        offers: &[Offer],
        run_label: Option<&str>,
        opts: GuardOptions,
        on_attempt: &dyn Fn(&Offer, Option<&ApiError>),
    ) -> Result<PodGuard<'a>, PodError> {
        let mut tried = Vec::new();
        for (i, offer) in offers.iter().enumerate() {
            let mut req = request.clone();
            req.gpu_type_id = offer.gpu_type_id.clone();
            req.cloud_type = offer.cloud;
            // Unique per attempt, so a pod created by a request whose answer was lost is found
            // again by name.
            req.name = format!("{}-{i}", request.name);
            let entry = LedgerEntry {
                name: req.name.clone(),
                state: EntryState::Intent,
                pod_id: None,
                run_label: run_label.map(str::to_string),
                api: api.kind(),
                gpu_type: offer.gpu_type_id.clone(),
                cloud: offer.cloud,
                cost_per_hr: offer.price_per_hr,
                intent_at: now(),
                created_at: None,
                terminated_at: None,
                last_error: None,
                extra: Default::default(),
            };
            ledger.record(entry.clone())?;
            on_attempt(offer, None);
            match api.create_pod(&req) {
                Ok(id) => {
                    let entry = ledger.update(&req.name, |e| {
                        e.state = EntryState::Created;
                        e.pod_id = Some(id.clone());
                        e.created_at = Some(now());
                    })?;
                    return Ok(PodGuard {
                        api,
                        ledger,
                        entry,
                        opts,
                        done: false,
                    });
                }
                Err(err) => {
                    ledger.update(&req.name, |e| {
                        e.state = EntryState::NotCreated;
                        e.last_error = Some(err.to_string());
                    })?;
                    on_attempt(offer, Some(&err));
                    match err {
                        ApiError::NoCapacity(msg) => {
                            tried.push(format!("{} ({:?}): {msg}", offer.gpu_type_id, offer.cloud))
                        }
                        other => return Err(other.into()),
                    }
                }
            }
        }
        Err(PodError::NoCapacity { tried })
    }

    pub fn id(&self) -> &str {
        self.entry.pod_id.as_deref().unwrap_or_default()
    }

    pub fn entry(&self) -> &LedgerEntry {
        &self.entry
    }

    /// Poll the pod until it runs and exposes a public 22/tcp. Past `deadline`, or when the pod
    /// exits or fails first, the pod is terminated and the reason returned.
    pub fn wait_for_ssh(
        &mut self,
        deadline: Duration,
        poll: Duration,
        stop: &AtomicBool,
        on_status: &dyn Fn(&Pod),
    ) -> Result<Pod, PodError> {
        let started = Instant::now();
        let mut last_reason: String;
        loop {
            if stop.load(Ordering::SeqCst) {
                return Err(PodError::Stopped);
            }
            match self.api.pod(self.id()) {
                Ok(pod) => {
                    on_status(&pod);
                    if pod.ssh_endpoint().is_some() {
                        return Ok(pod);
                    }
                    match &pod.status {
                        PodStatus::Exited | PodStatus::Error | PodStatus::Terminated => {
                            last_reason = format!("stopped by itself ({:?})", pod.status);
                            break;
                        }
                        PodStatus::Running => {
                            last_reason = "never exposed a public 22/tcp".into();
                        }
                        _ => last_reason = "never started (runtime stayed null)".into(),
                    }
                }
                Err(e) if e.is_transient() => last_reason = e.to_string(),
                Err(e) => return Err(e.into()),
            }
            if started.elapsed() >= deadline {
                break;
            }
            std::thread::sleep(poll.min(deadline.saturating_sub(started.elapsed())));
        }
        let waited_s = started.elapsed().as_secs();
        self.terminate()?;
        Err(PodError::NeverReady {
            pod: self.id().to_string(),
            reason: last_reason,
            waited_s,
        })
    }

    /// Terminate the pod and verify it is gone (idempotent).
    pub fn terminate(&mut self) -> Result<(), PodError> {
        if self.done {
            return Ok(());
        }
        let id = self.id().to_string();
        match terminate_verified(self.api, &id, &self.opts) {
            Ok(()) => {
                self.entry = self.ledger.update(&self.entry.name, |e| {
                    e.state = EntryState::Terminated;
                    e.terminated_at = Some(now());
                })?;
                self.done = true;
                Ok(())
            }
            Err(err) => {
                let msg = err.to_string();
                // The ledger keeps the pod as created so `remote reap` finds it.
                let _ = self
                    .ledger
                    .update(&self.entry.name, |e| e.last_error = Some(msg));
                Err(err)
            }
        }
    }
}

impl Drop for PodGuard<'_> {
    fn drop(&mut self) {
        if !self.done {
            if let Err(e) = self.terminate() {
                eprintln!("error: {e}");
            }
        }
    }
}

/// Terminate `id`, retrying, until a query shows it gone (not found or `TERMINATED`).
pub fn terminate_verified(api: &dyn PodApi, id: &str, opts: &GuardOptions) -> Result<(), PodError> {
    let mut backoff = opts.backoff;
    let mut last = String::new();
    for attempt in 1..=opts.attempts.max(1) {
        match api.terminate_pod(id) {
            Ok(()) | Err(ApiError::NotFound(_)) => {
                for _ in 0..opts.verify_polls.max(1) {
                    match api.pod(id) {
                        Err(ApiError::NotFound(_)) => return Ok(()),
                        Ok(p) if p.status == PodStatus::Terminated => return Ok(()),
                        Ok(p) => last = format!("still {:?} after terminate", p.status),
                        Err(e) => last = e.to_string(),
                    }
                    std::thread::sleep(opts.backoff);
                }
            }
            Err(e) => last = e.to_string(),
        }
        if attempt < opts.attempts {
            std::thread::sleep(backoff);
            backoff = backoff.saturating_mul(2);
        }
    }
    Err(PodError::TerminateUnverified {
        pod: id.to_string(),
        attempts: opts.attempts.max(1),
        last,
    })
}

/// What [`reap`] did with one ledger entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Reaped {
    pub name: String,
    pub pod_id: Option<String>,
    /// `terminated`, `already gone`, `never created`, or the error.
    pub outcome: String,
    pub ok: bool,
}

/// Terminate every ledger pod that may still bill. An intent without an id is looked up by
/// name in the account's pods (the create may have succeeded before the process died).
pub fn reap(
    api: &dyn PodApi,
    ledger: &Ledger,
    opts: &GuardOptions,
) -> Result<Vec<Reaped>, PodError> {
    let open = ledger.open_entries()?;
    let mut account: Option<Vec<Pod>> = None;
    let mut out = Vec::new();
    for entry in open {
        let id = match &entry.pod_id {
            Some(id) => Some(id.clone()),
            None => {
                if account.is_none() {
                    account = Some(api.list_pods()?);
                }
                account
                    .as_deref()
                    .unwrap_or_default()
                    .iter()
                    .find(|p| p.name == entry.name)
                    .map(|p| p.id.clone())
            }
        };
        let Some(id) = id else {
            ledger.update(&entry.name, |e| e.state = EntryState::NotCreated)?;
            out.push(Reaped {
                name: entry.name,
                pod_id: None,
                outcome: "never created".into(),
                ok: true,
            });
            continue;
        };
        let already_gone = match api.pod(&id) {
            Err(ApiError::NotFound(_)) => true,
            Ok(p) => p.status == PodStatus::Terminated,
            Err(_) => false,
        };
        let result = if already_gone {
            Ok(())
        } else {
            terminate_verified(api, &id, opts)
        };
        match result {
            Ok(()) => {
                ledger.update(&entry.name, |e| {
                    e.state = EntryState::Terminated;
                    e.pod_id = Some(id.clone());
                    e.terminated_at.get_or_insert_with(now);
                })?;
                out.push(Reaped {
                    name: entry.name,
                    pod_id: Some(id),
                    outcome: if already_gone {
                        "already gone".into()
                    } else {
                        "terminated".into()
                    },
                    ok: true,
                });
            }
            Err(e) => {
                let msg = e.to_string();
                ledger.update(&entry.name, |en| en.last_error = Some(msg.clone()))?;
                out.push(Reaped {
                    name: entry.name,
                    pod_id: Some(id),
                    outcome: msg,
                    ok: false,
                });
            }
        }
    }
    Ok(out)
}

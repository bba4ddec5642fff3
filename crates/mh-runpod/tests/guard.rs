//! The pod guard and ledger against the loopback RunPod peer: pods are written down before they
//! exist and terminated (verified) on every way out.

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use mh_runpod::{
    reap, ApiKey, ClientOptions, CloudType, CreatePod, EntryState, GraphQlApi, GuardOptions,
    Ledger, Offer, PodApi, PodError, PodGuard,
};
use mh_testkit::runpod::CloudType as FakeCloud;
use mh_testkit::{FakeRunPod, FakeRunPodOptions};

const RTX4090: &str = "NVIDIA GeForce RTX 4090";
const A5000: &str = "NVIDIA RTX A5000";

fn api(f: &FakeRunPod) -> GraphQlApi {
    GraphQlApi::new(
        &f.graphql_url(),
        ApiKey::new(&f.api_key(), "test").unwrap(),
        ClientOptions {
            timeout: Duration::from_secs(10),
            retries: 2,
            retry_delay: Duration::from_millis(1),
            max_retry_wait: Duration::from_millis(5),
        },
    )
}

fn fast() -> GuardOptions {
    GuardOptions {
        attempts: 4,
        backoff: Duration::from_millis(5),
        verify_polls: 3,
    }
}

fn request() -> CreatePod {
    CreatePod {
        name: "mh-train-2026-11-22-010203-abcdef".into(),
        image_name: "ghcr.io/mh-train/mh-train:cuda".into(),
        gpu_type_id: String::new(),
        cloud_type: CloudType::Community,
        gpu_count: 1,
        container_disk_gb: 40,
        volume_gb: 0,
        min_vcpu: 4,
        min_memory_gb: 16,
        ports: "22/tcp".into(),
        env: vec![],
        template_id: None,
        bid_per_gpu: None,
    }
}

fn offers() -> Vec<Offer> {
    [
        (A5000, CloudType::Community),
        (A5000, CloudType::Secure),
        (RTX4090, CloudType::Community),
    ]
    .iter()
    .map(|(gpu, cloud)| Offer {
        gpu_type_id: gpu.to_string(),
        cloud: *cloud,
        price_per_hr: Some(0.5),
    })
    .collect()
}

/// The test request on the first of [`offers`] with capacity, fast termination settings.
fn launch<'a>(api: &'a GraphQlApi, ledger: &'a Ledger) -> Result<PodGuard<'a>, PodError> {
    PodGuard::launch(
        api,
        ledger,
        &request(),
        &offers(),
        Some("run"),
        fast(),
        &|_, _| {},
    )
}

fn states(ledger: &Ledger) -> Vec<(String, EntryState)> {
    ledger
        .load()
        .unwrap()
        .pods
        .into_iter()
        .map(|e| (format!("{} {:?}", e.gpu_type, e.cloud), e.state))
        .collect()
}

#[test]
fn launch_falls_back_and_terminate_is_retried_and_verified() {
    let fake = FakeRunPod::start_with(FakeRunPodOptions {
        no_capacity: vec![
            (A5000.into(), FakeCloud::Community),
            (A5000.into(), FakeCloud::Secure),
        ],
        terminate_fail_times: 2,
        ..FakeRunPodOptions::default()
    })
    .unwrap();
    let api = api(&fake);
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::new(dir.path());
    let mut guard = launch(&api, &ledger).unwrap();
    assert_eq!(fake.live_pods(), vec![guard.id().to_string()]);
    assert_eq!(
        states(&ledger),
        vec![
            (format!("{A5000} Community"), EntryState::NotCreated),
            (format!("{A5000} Secure"), EntryState::NotCreated),
            (format!("{RTX4090} Community"), EntryState::Created),
        ]
    );
    // Two terminate calls fail; the third works and a query confirms it.
    guard.terminate().unwrap();
    assert!(fake.live_pods().is_empty());
    assert_eq!(states(&ledger)[2].1, EntryState::Terminated);
    assert!(ledger.load().unwrap().pods[2].terminated_at.is_some());
}

#[test]
fn no_capacity_anywhere_rents_nothing() {
    let fake = FakeRunPod::start_with(FakeRunPodOptions {
        no_capacity: vec![
            ("*".into(), FakeCloud::Community),
            ("*".into(), FakeCloud::Secure),
        ],
        ..FakeRunPodOptions::default()
    })
    .unwrap();
    let api = api(&fake);
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::new(dir.path());
    let err = launch(&api, &ledger).err().unwrap();
    assert!(
        matches!(&err, PodError::NoCapacity { tried } if tried.len() == 3),
        "{err}"
    );
    assert!(fake.pods().is_empty());
    assert!(ledger.open_entries().unwrap().is_empty());
}

#[test]
fn a_pod_that_never_exposes_ssh_is_terminated() {
    let fake = FakeRunPod::start_with(FakeRunPodOptions {
        ports_never: true,
        ..FakeRunPodOptions::default()
    })
    .unwrap();
    let api = api(&fake);
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::new(dir.path());
    let mut guard = launch(&api, &ledger).unwrap();
    let stop = AtomicBool::new(false);
    let err = guard
        .wait_for_ssh(
            Duration::from_millis(300),
            Duration::from_millis(20),
            &stop,
            &|_| {},
        )
        .unwrap_err();
    assert!(err.to_string().contains("22/tcp"), "{err}");
    assert!(fake.live_pods().is_empty());
    assert!(ledger.open_entries().unwrap().is_empty());
}

#[test]
fn a_panic_terminates_the_pod() {
    let fake = FakeRunPod::start().unwrap();
    let api = api(&fake);
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::new(dir.path());
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _guard = launch(&api, &ledger).unwrap();
        assert_eq!(fake.live_pods().len(), 1);
        panic!("training blew up");
    }));
    assert!(result.is_err());
    assert!(fake.live_pods().is_empty());
    assert!(ledger.open_entries().unwrap().is_empty());
}

#[test]
fn reap_finds_pods_by_id_and_by_name_after_a_crash() {
    let fake = FakeRunPod::start().unwrap();
    let api = api(&fake);
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::new(dir.path());
    // A crash after create: the guard is leaked, as kill -9 would leave it.
    let guard = launch(&api, &ledger).unwrap();
    std::mem::forget(guard);
    // A crash between the create request and its answer: the pod exists, the ledger only has
    // the intent. Simulated by creating a pod under the intent's name behind the ledger's back.
    let mut orphan = request();
    orphan.name = "mh-train-lost-answer-0".into();
    orphan.gpu_type_id = RTX4090.into();
    let orphan_id = api.create_pod(&orphan).unwrap();
    let mut entry = ledger.load().unwrap().pods[0].clone();
    entry.name = orphan.name.clone();
    entry.state = EntryState::Intent;
    entry.pod_id = None;
    ledger.record(entry).unwrap();
    // And an intent whose create never reached RunPod.
    let mut never = ledger.load().unwrap().pods[0].clone();
    never.name = "mh-train-never-0".into();
    never.state = EntryState::Intent;
    never.pod_id = None;
    ledger.record(never).unwrap();
    assert_eq!(fake.live_pods().len(), 2);

    let reaped = reap(&api, &ledger, &fast()).unwrap();
    assert!(fake.live_pods().is_empty(), "{reaped:?}");
    let outcomes: Vec<(&str, &str)> = reaped
        .iter()
        .map(|r| (r.name.as_str(), r.outcome.as_str()))
        .collect();
    assert!(
        outcomes.contains(&("mh-train-lost-answer-0", "terminated")),
        "{outcomes:?}"
    );
    assert!(
        outcomes.contains(&("mh-train-never-0", "never created")),
        "{outcomes:?}"
    );
    assert!(reaped.iter().all(|r| r.ok));
    assert!(ledger.open_entries().unwrap().is_empty());
    let lost = ledger
        .load()
        .unwrap()
        .pods
        .into_iter()
        .find(|e| e.name == orphan.name)
        .unwrap();
    assert_eq!(lost.pod_id.as_deref(), Some(orphan_id.as_str()));
    // Reaping again finds nothing to do.
    assert!(reap(&api, &ledger, &fast()).unwrap().is_empty());
}

#[test]
fn an_unreadable_ledger_is_an_error_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::new(dir.path());
    std::fs::create_dir_all(ledger.path().parent().unwrap()).unwrap();
    std::fs::write(ledger.path(), b"{not json").unwrap();
    let err = ledger.load().unwrap_err().to_string();
    assert!(err.contains("pods.json") && err.contains("reap"), "{err}");
    assert_eq!(std::fs::read(ledger.path()).unwrap(), b"{not json");
}

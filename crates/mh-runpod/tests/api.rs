//! Both RunPod clients against the loopback RunPod peer (mh-testkit's `FakeRunPod`).

use std::time::Duration;

use mh_runpod::{
    ApiError, ApiKey, ClientOptions, CloudType, CreatePod, GraphQlApi, PodApi, PodStatus, RestApi,
    StockStatus,
};
use mh_testkit::runpod::{CloudType as FakeCloud, FakeApi, FakePodStatus, NO_CAPACITY_MESSAGE};
use mh_testkit::{FakeRunPod, FakeRunPodOptions};

const KEY: &str = "rpa_TESTKEY_7c1f0e9d8b6a5f4e3d2c1b0a99887766";
const RTX4090: &str = "NVIDIA GeForce RTX 4090";

fn client_opts() -> ClientOptions {
    ClientOptions {
        timeout: Duration::from_secs(10),
        retries: 3,
        retry_delay: Duration::from_millis(1),
        max_retry_wait: Duration::from_millis(5),
    }
}

fn key(text: &str) -> ApiKey {
    ApiKey::new(text, "test").unwrap()
}

fn fake(opts: FakeRunPodOptions) -> FakeRunPod {
    FakeRunPod::start_with(FakeRunPodOptions {
        api_key: KEY.into(),
        ..opts
    })
    .unwrap()
}

fn graphql(f: &FakeRunPod) -> GraphQlApi {
    GraphQlApi::new(&f.graphql_url(), key(KEY), client_opts())
}

fn rest(f: &FakeRunPod) -> RestApi {
    RestApi::new(&f.rest_url(), key(KEY), client_opts())
}

/// The client of `kind` (`graphql` or `rest`) for `f`.
fn api_for(kind: &str, f: &FakeRunPod) -> Box<dyn PodApi> {
    match kind {
        "graphql" => Box::new(graphql(f)),
        _ => Box::new(rest(f)),
    }
}

const KINDS: [&str; 2] = ["graphql", "rest"];

fn request(gpu: &str, cloud: CloudType) -> CreatePod {
    CreatePod {
        name: "mh-train-run-1".into(),
        image_name: "ghcr.io/example/mh-train:cuda12".into(),
        gpu_type_id: gpu.into(),
        cloud_type: cloud,
        gpu_count: 1,
        container_disk_gb: 40,
        volume_gb: 0,
        min_vcpu: 4,
        min_memory_gb: 16,
        ports: "22/tcp".into(),
        env: vec![(
            "SSH_PUBLIC_KEY".into(),
            "ssh-ed25519 AAAAC3Nz test@host".into(),
        )],
        template_id: None,
        bid_per_gpu: None,
    }
}

fn assert_key_free(err: &ApiError) {
    let display = err.to_string();
    let debug = format!("{err:?}");
    assert!(!display.contains(KEY), "key in Display: {display}");
    assert!(!debug.contains(KEY), "key in Debug: {debug}");
}

fn assert_no_key_in_urls(f: &FakeRunPod) {
    let requests = f.requests();
    assert!(!requests.is_empty());
    for r in &requests {
        assert!(!r.url.contains(KEY), "key in URL {}", r.url);
        assert!(!r.url.contains("api_key"), "api_key parameter in {}", r.url);
        assert!(
            r.authorization,
            "{} {} sent without Authorization",
            r.method, r.url
        );
    }
}

#[test]
fn gpu_types_with_prices_and_stock() {
    let f = fake(FakeRunPodOptions::default());
    let gql = graphql(&f).gpu_types().unwrap();
    assert_eq!(gql.len(), 4);
    let rtx = gql.iter().find(|g| g.id == RTX4090).unwrap();
    assert_eq!(rtx.display_name, "RTX 4090");
    assert_eq!(rtx.memory_gb, 24);
    assert_eq!(rtx.community_price, Some(0.34));
    assert_eq!(rtx.secure_price, Some(0.69));
    assert!(rtx.community_spot_price.is_some());
    assert_eq!(rtx.stock, Some(StockStatus::High));
    let a5000 = gql.iter().find(|g| g.id == "NVIDIA RTX A5000").unwrap();
    assert_eq!(
        (a5000.community_price, a5000.secure_price),
        (Some(0.16), Some(0.26))
    );
    assert_eq!(a5000.stock, Some(StockStatus::Low));
    let h100 = gql.iter().find(|g| g.id.contains("H100")).unwrap();
    assert_eq!(h100.stock, Some(StockStatus::None));

    // REST v2's catalog gives the same prices and stock (no spot prices: REST has no spot).
    let rest_types = rest(&f).gpu_types().unwrap();
    assert_eq!(rest_types.len(), gql.len());
    for g in &gql {
        let r = rest_types.iter().find(|r| r.id == g.id).unwrap();
        assert_eq!(
            (r.memory_gb, r.community_price, r.secure_price, r.stock),
            (g.memory_gb, g.community_price, g.secure_price, g.stock),
            "{}",
            g.id
        );
        assert_eq!(r.community_spot_price, None);
    }
    assert_no_key_in_urls(&f);
}

#[test]
fn create_starts_then_runs_with_an_ssh_endpoint_and_terminates() {
    for name in KINDS {
        let f = fake(FakeRunPodOptions {
            runtime_null_polls: 2,
            ssh_endpoint: Some(("127.0.0.1".into(), 2222)),
            ..FakeRunPodOptions::default()
        });
        let api = api_for(name, &f);
        let id = api
            .create_pod(&request(RTX4090, CloudType::Community))
            .unwrap();
        assert_eq!(f.live_pods(), vec![id.clone()], "{name}");
        let recorded = f.pod(&id).unwrap();
        assert_eq!(recorded.gpu_type_id, RTX4090);
        assert_eq!(recorded.cloud_type, FakeCloud::Community);
        assert_eq!(
            recorded.image.as_deref(),
            Some("ghcr.io/example/mh-train:cuda12")
        );
        assert_eq!(recorded.ports, vec!["22/tcp".to_string()]);
        assert_eq!(
            recorded.env,
            vec![(
                "SSH_PUBLIC_KEY".to_string(),
                "ssh-ed25519 AAAAC3Nz test@host".to_string()
            )]
        );
        assert!(recorded.start_ssh, "{name}: startSsh not sent");
        assert_eq!(
            recorded.docker_args, None,
            "{name}: dockerArgs must not be sent"
        );
        assert_eq!(
            recorded.api,
            if name == "graphql" {
                FakeApi::Graphql
            } else {
                FakeApi::Rest
            }
        );

        for poll in 0..2 {
            let pod = api.pod(&id).unwrap();
            assert_eq!(pod.status, PodStatus::Starting, "{name} poll {poll}");
            assert_eq!(pod.ssh_endpoint(), None, "{name} poll {poll}");
            assert!(pod.is_alive());
        }
        let pod = api.pod(&id).unwrap();
        assert_eq!(pod.status, PodStatus::Running, "{name}");
        assert_eq!(
            pod.ssh_endpoint(),
            Some(("127.0.0.1".to_string(), 2222)),
            "{name}"
        );
        assert_eq!(pod.cost_per_hr, Some(0.34), "{name}");
        assert_eq!(pod.name, "mh-train-run-1");
        assert!(pod.gpu_type.is_some());

        let listed = api.list_pods().unwrap();
        assert_eq!(listed.len(), 1, "{name}");
        assert_eq!(listed[0].id, id);

        api.terminate_pod(&id).unwrap();
        assert!(f.live_pods().is_empty(), "{name}");
        let gone = f.pod(&id).unwrap();
        assert_eq!(gone.status, FakePodStatus::Terminated);
        assert!(gone.terminated_at.is_some());
        match api.pod(&id) {
            Err(ApiError::NotFound(got)) => assert_eq!(got, id, "{name}"),
            other => panic!("{name}: a terminated pod should be gone, got {other:?}"),
        }
        assert!(api.list_pods().unwrap().is_empty(), "{name}");
        assert!(
            matches!(api.terminate_pod(&id), Err(ApiError::NotFound(_))),
            "{name}: terminating a gone pod"
        );
        assert_no_key_in_urls(&f);
    }
}

#[test]
fn wrong_key_is_a_clear_auth_error_without_the_key() {
    let f = fake(FakeRunPodOptions::default());
    let wrong = "rpa_WRONGKEY_00000000000000000000000000000000";
    let apis: Vec<Box<dyn PodApi>> = vec![
        Box::new(GraphQlApi::new(&f.graphql_url(), key(wrong), client_opts())),
        Box::new(RestApi::new(&f.rest_url(), key(wrong), client_opts())),
    ];
    for api in apis {
        for err in [
            api.gpu_types().unwrap_err(),
            api.create_pod(&request(RTX4090, CloudType::Secure))
                .unwrap_err(),
            api.list_pods().unwrap_err(),
        ] {
            assert!(
                matches!(err, ApiError::Auth { status: 401 }),
                "{:?}: {err:?}",
                api.kind()
            );
            assert!(!err.is_transient());
            let msg = err.to_string();
            assert!(msg.contains("RUNPOD_API_KEY"), "{msg}");
            assert!(!msg.contains(wrong) && !format!("{err:?}").contains(wrong));
            assert!(!msg.contains(KEY));
        }
    }
    assert!(f.pods().is_empty());
    for r in f.requests() {
        assert!(!r.url.contains(wrong));
    }
}

#[test]
fn no_capacity_is_mapped_and_other_clouds_still_work() {
    for kind in KINDS {
        let f = fake(FakeRunPodOptions {
            no_capacity: vec![(RTX4090.to_string(), FakeCloud::Community)],
            ..FakeRunPodOptions::default()
        });
        let api = api_for(kind, &f);
        let err = api
            .create_pod(&request(RTX4090, CloudType::Community))
            .unwrap_err();
        match &err {
            ApiError::NoCapacity(msg) => assert_eq!(msg, NO_CAPACITY_MESSAGE, "{kind}"),
            other => panic!("{kind}: expected NoCapacity, got {other:?}"),
        }
        assert!(!err.is_transient());
        assert_key_free(&err);
        // The out-of-stock H100 has no capacity anywhere.
        assert!(matches!(
            api.create_pod(&request("NVIDIA H100 80GB HBM3", CloudType::Secure)),
            Err(ApiError::NoCapacity(_))
        ));
        assert!(f.pods().is_empty(), "{kind}: a refused create left a pod");
        let id = api
            .create_pod(&request(RTX4090, CloudType::Secure))
            .unwrap();
        assert_eq!(f.pod(&id).unwrap().cloud_type, FakeCloud::Secure);
        assert_eq!(api.pod(&id).unwrap().cost_per_hr, Some(0.69));
        api.terminate_pod(&id).unwrap();
        assert!(f.live_pods().is_empty());
    }
}

#[test]
fn a_failing_terminate_surfaces_then_succeeds() {
    let f = fake(FakeRunPodOptions {
        terminate_fail_times: 1,
        ..FakeRunPodOptions::default()
    });
    let api = graphql(&f);
    let id = api
        .create_pod(&request(RTX4090, CloudType::Community))
        .unwrap();
    let err = api.terminate_pod(&id).unwrap_err();
    match &err {
        ApiError::Api { op, message } => {
            assert_eq!(op, "podTerminate");
            assert!(message.contains("Something went wrong"), "{message}");
        }
        other => panic!("expected Api, got {other:?}"),
    }
    assert_eq!(f.live_pods(), vec![id.clone()], "the pod is still billing");
    api.terminate_pod(&id).unwrap();
    assert!(f.live_pods().is_empty());

    // REST answers the failure with HTTP 500, which the client retries (terminate is
    // idempotent): one call, two requests.
    let f = fake(FakeRunPodOptions {
        terminate_fail_times: 1,
        ..FakeRunPodOptions::default()
    });
    let api = rest(&f);
    let id = api
        .create_pod(&request(RTX4090, CloudType::Community))
        .unwrap();
    api.terminate_pod(&id).unwrap();
    assert!(f.live_pods().is_empty());
    let actions: Vec<u16> = f
        .requests()
        .iter()
        .filter(|r| r.path().ends_with("/action"))
        .map(|r| r.status)
        .collect();
    assert_eq!(actions, vec![500, 204]);
}

#[test]
fn rate_limits_are_retried_then_reported() {
    for kind in KINDS {
        let f = fake(FakeRunPodOptions {
            rate_limit_first: 2,
            ..FakeRunPodOptions::default()
        });
        let api = api_for(kind, &f);
        assert_eq!(api.gpu_types().unwrap().len(), 4, "{kind}");
        let statuses: Vec<u16> = f.requests().iter().map(|r| r.status).collect();
        assert_eq!(&statuses[..3], &[429, 429, 200], "{kind}");

        // A create refused with 429 was never acted on: it is retried too, and makes one pod.
        f.rate_limit_next(1);
        let id = api
            .create_pod(&request(RTX4090, CloudType::Community))
            .unwrap();
        assert_eq!(f.pods().len(), 1);
        api.terminate_pod(&id).unwrap();

        // More 429s than retries: the error says so, with RunPod's Retry-After.
        f.rate_limit_next(10);
        let err = api.list_pods().unwrap_err();
        match &err {
            ApiError::RateLimited { retry_after } => assert_eq!(*retry_after, Some(1)),
            other => panic!("{kind}: expected RateLimited, got {other:?}"),
        }
        assert!(err.is_transient());
        assert!(err.to_string().contains("429"));
        assert_key_free(&err);
    }
}

#[test]
fn graphql_values_travel_in_variables() {
    let f = fake(FakeRunPodOptions::default());
    let api = graphql(&f);
    let req = request(RTX4090, CloudType::Community);
    let id = api.create_pod(&req).unwrap();
    api.pod(&id).unwrap();
    api.stop_pod(&id).unwrap();
    assert_eq!(api.pod(&id).unwrap().status, PodStatus::Exited);
    api.terminate_pod(&id).unwrap();
    api.list_pods().unwrap();

    let calls = f.graphql_calls();
    let roots: Vec<&str> = calls.iter().map(|c| c.root_field.as_str()).collect();
    assert_eq!(
        roots,
        vec![
            "podFindAndDeployOnDemand",
            "pod",
            "podStop",
            "pod",
            "podTerminate",
            "myself"
        ]
    );
    for c in &calls {
        for value in [
            id.as_str(),
            RTX4090,
            req.image_name.as_str(),
            "SSH_PUBLIC_KEY",
            KEY,
        ] {
            assert!(
                !c.query.contains(value),
                "{} query contains {value:?}: {}",
                c.root_field,
                c.query
            );
        }
    }
    let create = &calls[0].variables["input"];
    assert_eq!(create["gpuTypeId"], RTX4090);
    assert_eq!(create["cloudType"], "COMMUNITY");
    assert_eq!(create["env"][0]["key"], "SSH_PUBLIC_KEY");
    for c in &calls[1..5] {
        assert_eq!(
            c.variables["input"]["podId"],
            id.as_str(),
            "{}",
            c.root_field
        );
    }
}

#[test]
fn spot_pods_over_graphql_and_refused_over_rest() {
    let f = fake(FakeRunPodOptions::default());
    let mut req = request(RTX4090, CloudType::Community);
    req.bid_per_gpu = Some(0.2);
    let id = graphql(&f).create_pod(&req).unwrap();
    let pod = f.pod(&id).unwrap();
    assert_eq!(pod.bid_per_gpu, Some(0.2));
    assert_eq!(pod.cost_per_hr, 0.2);
    assert_eq!(f.graphql_calls()[0].root_field, "podRentInterruptable");
    graphql(&f).terminate_pod(&id).unwrap();

    let err = rest(&f).create_pod(&req).unwrap_err();
    assert!(matches!(err, ApiError::Unsupported(_)), "{err:?}");
    assert!(err.to_string().contains("--api graphql"), "{err}");
    assert_eq!(f.pods().len(), 1, "REST must not have created anything");
}

#[test]
fn ports_that_never_appear_leave_a_running_pod_without_ssh() {
    for kind in KINDS {
        let f = fake(FakeRunPodOptions {
            ports_never: true,
            ..FakeRunPodOptions::default()
        });
        let api = api_for(kind, &f);
        let id = api
            .create_pod(&request(RTX4090, CloudType::Community))
            .unwrap();
        for _ in 0..3 {
            let pod = api.pod(&id).unwrap();
            assert_eq!(pod.status, PodStatus::Running, "{kind}");
            assert_eq!(pod.ssh_endpoint(), None, "{kind}");
        }
        // The endpoint shows up once the fake is told where sshd is.
        f.set_ports_never(false);
        f.set_ssh_endpoint(Some(("127.0.0.1".into(), 2200)));
        assert_eq!(
            api.pod(&id).unwrap().ssh_endpoint(),
            Some(("127.0.0.1".to_string(), 2200)),
            "{kind}"
        );
        api.terminate_pod(&id).unwrap();
    }
}

#[test]
fn unreachable_api_is_a_transport_error() {
    let url = mh_testkit::ollama::unreachable_url();
    let api = GraphQlApi::new(&format!("{url}/graphql"), key(KEY), client_opts());
    let err = api.gpu_types().unwrap_err();
    assert!(matches!(err, ApiError::Transport { .. }), "{err:?}");
    assert!(err.is_transient());
    assert!(err.to_string().contains(&url), "{err}");
    assert_key_free(&err);
    let err = RestApi::new(&format!("{url}/v2"), key(KEY), client_opts())
        .create_pod(&request(RTX4090, CloudType::Secure))
        .unwrap_err();
    assert!(matches!(err, ApiError::Transport { .. }), "{err:?}");
    assert_key_free(&err);
}

#[test]
fn the_peer_refuses_interpolated_values_and_unknown_fields() {
    let f = fake(FakeRunPodOptions::default());
    let post = |url: &str, body: serde_json::Value| -> (u16, serde_json::Value) {
        let r = ureq::post(url)
            .set("Authorization", &format!("Bearer {KEY}"))
            .send_string(&body.to_string());
        let r = match r {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{e}"),
        };
        let status = r.status();
        (status, r.into_json().unwrap())
    };
    let (status, body) = post(
        &f.graphql_url(),
        serde_json::json!({ "query": "mutation { podTerminate(input: {podId: \"abc\"}) }" }),
    );
    assert_eq!(status, 400);
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("variables"));
    let (status, body) = post(
        &format!("{}/pods", f.rest_url()),
        serde_json::json!({ "name": "x", "image": "i", "gpu": {"id": RTX4090},
                            "imageName": "i", "minVcpuCount": 2 }),
    );
    assert_eq!(status, 422);
    let errors = body["errors"].to_string();
    assert!(
        errors.contains("imageName") && errors.contains("minVcpuCount"),
        "{errors}"
    );
    assert!(f.pods().is_empty());
}

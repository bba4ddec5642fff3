//! A loopback RunPod ([`FakeRunPod`]): the GraphQL API at `<url>/graphql` and REST v2 under
//! `<url>/v2`, speaking the documented shapes (anchors §4: runpodctl's operations, RunPod's
//! `api-reference-v2/openapi.json`), with the failure modes RunPod is known for on demand.
//!
//! Point a client at it with `RUNPOD_API_URL=<url>/graphql` ([`FakeRunPod::graphql_url`]) and
//! `RUNPOD_REST_URL=<url>/v2` ([`FakeRunPod::rest_url`]).
//!
//! **GraphQL.** The operation is recognised by its root field: `gpuTypes`, `myself { pods }`,
//! `pod`, `podFindAndDeployOnDemand`, `podRentInterruptable`, `podStop`, `podTerminate`. The
//! last five must take `(input: $input)` with `variables.input` and declare `$input` with
//! RunPod's input type (`PodFilter`, `PodFindAndDeployOnDemandInput`,
//! `PodRentInterruptableInput`, `PodStopInput`, `PodTerminateInput`); values written into the
//! query text, unknown input fields, or a selection set on the scalar `podTerminate` are
//! answered with a GraphQL validation error (HTTP 400). Resolver failures (no capacity,
//! "Something went wrong") are HTTP 200 with `errors`, as RunPod answers them. A terminated pod
//! is gone: `pod` answers `data.pod: null` and `myself.pods` omits it.
//!
//! **REST v2.** `GET /v2/catalog/gpus` (`include=AVAILABILITY` needs `product`), `GET/POST
//! /v2/pods`, `GET/DELETE /v2/pods/{id}`, `POST /v2/pods/{id}/action`; unknown body fields are
//! `422`, errors are `application/problem+json` `{title, status, detail}`; a terminated pod is
//! `404`.
//!
//! **Both.** Every request must carry `Authorization: Bearer <api_key>` (else HTTP 401). A pod
//! reports no runtime (GraphQL `runtime: null`, REST `STARTING`) for its first
//! [`FakeRunPodOptions::runtime_null_polls`] single-pod queries; then its runtime lists one
//! mapping per requested port — `22/tcp` as the public [`FakeRunPodOptions::ssh_endpoint`]
//! (REST: also `ssh.direct`) — unless [`FakeRunPodOptions::ports_never`]. Scenarios:
//! [`FakeRunPodOptions::no_capacity`] (RunPod's "There are no longer any instances available…";
//! a GPU type with stock `None` never has capacity), [`FakeRunPodOptions::terminate_fail_times`]
//! (GraphQL: "Something went wrong…" error; REST: HTTP 500 with that detail),
//! [`FakeRunPodOptions::rate_limit_first`] (HTTP 429, `Retry-After: 1`). Every pod ever created
//! is kept ([`FakeRunPod::pods`]) with its state, and every GraphQL call is recorded
//! ([`FakeRunPod::graphql_calls`]).

use std::io;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::http::{HttpRequest, HttpResponse, Params, RecordedRequest, Router, TestServer};

/// The API key a default [`FakeRunPod`] accepts.
pub const DEFAULT_API_KEY: &str = "rpa_FAKETESTKEY0000000000000000000000000000000000";

/// RunPod's message when no machine matches a create.
pub const NO_CAPACITY_MESSAGE: &str = "There are no longer any instances available with the requested specifications. Please refresh and try again.";

/// RunPod's generic failure.
pub const SOMETHING_WENT_WRONG: &str =
    "Something went wrong. Please try again later or contact support.";

/// RunPod's cloud types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloudType {
    Community,
    Secure,
}

impl CloudType {
    pub fn as_str(self) -> &'static str {
        match self {
            CloudType::Community => "COMMUNITY",
            CloudType::Secure => "SECURE",
        }
    }

    fn parse(s: &str) -> Option<CloudType> {
        match s {
            "COMMUNITY" => Some(CloudType::Community),
            "SECURE" => Some(CloudType::Secure),
            _ => None,
        }
    }
}

/// `lowestPrice.stockStatus` (GraphQL) / `availability` (REST).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stock {
    High,
    Medium,
    Low,
    None,
}

impl Stock {
    fn graphql(self) -> &'static str {
        match self {
            Stock::High => "High",
            Stock::Medium => "Medium",
            Stock::Low => "Low",
            Stock::None => "None",
        }
    }

    fn rest(self) -> &'static str {
        match self {
            Stock::High => "HIGH",
            Stock::Medium => "MEDIUM",
            Stock::Low => "LOW",
            Stock::None => "NONE",
        }
    }
}

/// A GPU type the fake rents out. Prices are USD per GPU-hour; `None`: not on that cloud.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeGpu {
    pub id: String,
    pub display_name: String,
    pub memory_gb: u32,
    pub community_price: Option<f64>,
    pub secure_price: Option<f64>,
    pub community_spot_price: Option<f64>,
    pub secure_spot_price: Option<f64>,
    pub stock: Stock,
}

impl FakeGpu {
    pub fn new(
        id: &str,
        display_name: &str,
        memory_gb: u32,
        community: Option<f64>,
        secure: Option<f64>,
        stock: Stock,
    ) -> FakeGpu {
        FakeGpu {
            id: id.into(),
            display_name: display_name.into(),
            memory_gb,
            community_price: community,
            secure_price: secure,
            community_spot_price: community.map(|p| round2(p * 0.6)),
            secure_spot_price: secure.map(|p| round2(p * 0.6)),
            stock,
        }
    }

    fn price(&self, cloud: CloudType) -> Option<f64> {
        match cloud {
            CloudType::Community => self.community_price,
            CloudType::Secure => self.secure_price,
        }
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// A small, realistic catalogue: RTX 4090, RTX A5000 (low stock), A100 80GB PCIe, and an H100
/// that is out of stock.
pub fn default_gpus() -> Vec<FakeGpu> {
    vec![
        FakeGpu::new(
            "NVIDIA GeForce RTX 4090",
            "RTX 4090",
            24,
            Some(0.34),
            Some(0.69),
            Stock::High,
        ),
        FakeGpu::new(
            "NVIDIA RTX A5000",
            "RTX A5000",
            24,
            Some(0.16),
            Some(0.26),
            Stock::Low,
        ),
        FakeGpu::new(
            "NVIDIA A100 80GB PCIe",
            "A100 PCIe",
            80,
            Some(1.19),
            Some(1.64),
            Stock::Medium,
        ),
        FakeGpu::new(
            "NVIDIA H100 80GB HBM3",
            "H100 SXM",
            80,
            Some(2.69),
            Some(2.99),
            Stock::None,
        ),
    ]
}

/// Options for [`FakeRunPod::start_with`].
#[derive(Debug, Clone)]
pub struct FakeRunPodOptions {
    /// The only key accepted (`Authorization: Bearer …`).
    pub api_key: String,
    pub gpu_types: Vec<FakeGpu>,
    /// `(gpu type id or "*", cloud)` pairs a create fails on with [`NO_CAPACITY_MESSAGE`].
    pub no_capacity: Vec<(String, CloudType)>,
    /// Single-pod queries of each pod that still see no runtime.
    pub runtime_null_polls: u32,
    /// The runtime never lists any port (the pod never becomes reachable).
    pub ports_never: bool,
    /// Terminate calls that fail before they start working.
    pub terminate_fail_times: u32,
    /// The public address of every pod's port 22 (point it at a local sshd). `None`: the
    /// runtime lists no mapping for 22 even when the pod asked for `22/tcp`.
    pub ssh_endpoint: Option<(String, u16)>,
    /// Requests answered 429 before any is served.
    pub rate_limit_first: u32,
}

impl Default for FakeRunPodOptions {
    fn default() -> Self {
        FakeRunPodOptions {
            api_key: DEFAULT_API_KEY.into(),
            gpu_types: default_gpus(),
            no_capacity: Vec::new(),
            runtime_null_polls: 0,
            ports_never: false,
            terminate_fail_times: 0,
            ssh_endpoint: Some(("203.0.113.7".into(), 40022)),
            rate_limit_first: 0,
        }
    }
}

/// Which API created a pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FakeApi {
    Graphql,
    Rest,
}

/// A pod's desired status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FakePodStatus {
    Running,
    Exited,
    Terminated,
}

/// A pod as the fake keeps it (terminated pods stay here).
#[derive(Debug, Clone, PartialEq)]
pub struct FakePod {
    pub id: String,
    pub name: String,
    pub api: FakeApi,
    pub gpu_type_id: String,
    pub gpu_count: u32,
    pub cloud_type: CloudType,
    pub image: Option<String>,
    pub template_id: Option<String>,
    /// Environment as sent, in order.
    pub env: Vec<(String, String)>,
    /// Requested ports (`22/tcp`, …).
    pub ports: Vec<String>,
    pub container_disk_gb: u64,
    pub volume_gb: u64,
    /// `dockerArgs` (GraphQL) / `args` (REST), when sent.
    pub docker_args: Option<String>,
    pub start_ssh: bool,
    /// Spot bid; `None` for on demand.
    pub bid_per_gpu: Option<f64>,
    /// USD per hour for the pod.
    pub cost_per_hr: f64,
    pub status: FakePodStatus,
    /// Single-pod queries answered so far.
    pub polls: u32,
    pub created_at: DateTime<Utc>,
    pub terminated_at: Option<DateTime<Utc>>,
}

impl FakePod {
    pub fn is_alive(&self) -> bool {
        self.status != FakePodStatus::Terminated
    }
}

/// One GraphQL request as received.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphQlCall {
    /// The operation's root field (`podTerminate`, …), empty when none was found.
    pub root_field: String,
    pub query: String,
    pub variables: Value,
}

struct State {
    opts: FakeRunPodOptions,
    pods: Vec<FakePod>,
    next_id: u64,
    calls: Vec<GraphQlCall>,
}

/// A running fake RunPod; dropping it stops the server.
pub struct FakeRunPod {
    state: Arc<Mutex<State>>,
    server: TestServer,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl FakeRunPod {
    pub fn start() -> io::Result<FakeRunPod> {
        FakeRunPod::start_with(FakeRunPodOptions::default())
    }

    pub fn start_with(opts: FakeRunPodOptions) -> io::Result<FakeRunPod> {
        let state = Arc::new(Mutex::new(State {
            opts,
            pods: Vec::new(),
            next_id: 0,
            calls: Vec::new(),
        }));
        let server = TestServer::start(router(&state))?;
        Ok(FakeRunPod { state, server })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// `<url>/graphql`, for `RUNPOD_API_URL`.
    pub fn graphql_url(&self) -> String {
        format!("{}/graphql", self.url())
    }

    /// `<url>/v2`, for `RUNPOD_REST_URL`.
    pub fn rest_url(&self) -> String {
        format!("{}/v2", self.url())
    }

    pub fn api_key(&self) -> String {
        lock(&self.state).opts.api_key.clone()
    }

    /// Every pod ever created, in creation order.
    pub fn pods(&self) -> Vec<FakePod> {
        lock(&self.state).pods.clone()
    }

    pub fn pod(&self, id: &str) -> Option<FakePod> {
        lock(&self.state).pods.iter().find(|p| p.id == id).cloned()
    }

    /// Ids of the pods not terminated (still billing).
    pub fn live_pods(&self) -> Vec<String> {
        lock(&self.state)
            .pods
            .iter()
            .filter(|p| p.is_alive())
            .map(|p| p.id.clone())
            .collect()
    }

    /// Changes what every pod reports for port 22 from now on.
    pub fn set_ssh_endpoint(&self, endpoint: Option<(String, u16)>) {
        lock(&self.state).opts.ssh_endpoint = endpoint;
    }

    pub fn set_ports_never(&self, never: bool) {
        lock(&self.state).opts.ports_never = never;
    }

    pub fn set_runtime_null_polls(&self, polls: u32) {
        lock(&self.state).opts.runtime_null_polls = polls;
    }

    pub fn set_no_capacity(&self, pairs: Vec<(String, CloudType)>) {
        lock(&self.state).opts.no_capacity = pairs;
    }

    /// The next `n` terminate calls fail.
    pub fn fail_next_terminates(&self, n: u32) {
        lock(&self.state).opts.terminate_fail_times = n;
    }

    /// The next `n` requests are answered 429.
    pub fn rate_limit_next(&self, n: u32) {
        lock(&self.state).opts.rate_limit_first = n;
    }

    /// Terminates a pod behind the client's back (as the console would).
    pub fn terminate_now(&self, id: &str) -> bool {
        let mut st = lock(&self.state);
        match st.pods.iter_mut().find(|p| p.id == id && p.is_alive()) {
            Some(p) => {
                terminate(p);
                true
            }
            None => false,
        }
    }

    /// Every GraphQL request, in order.
    pub fn graphql_calls(&self) -> Vec<GraphQlCall> {
        lock(&self.state).calls.clone()
    }

    /// Every HTTP request answered, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.server.requests()
    }

    pub fn clear_requests(&self) {
        self.server.clear_requests();
        lock(&self.state).calls.clear();
    }
}

fn terminate(p: &mut FakePod) {
    p.status = FakePodStatus::Terminated;
    p.terminated_at = Some(Utc::now());
}

// ---------------------------------------------------------------------------------------------
// Shared request handling
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavor {
    Graphql,
    Rest,
}

fn problem(status: u16, title: &str, detail: &str) -> HttpResponse {
    HttpResponse::new(status)
        .header("content-type", "application/problem+json")
        .body(json!({ "title": title, "status": status, "detail": detail }).to_string())
}

fn gql_error(status: u16, message: &str) -> HttpResponse {
    HttpResponse::json(
        status,
        &json!({ "errors": [{ "message": message }], "data": null }),
    )
}

/// Auth and rate limiting, before any handler.
fn gate(st: &mut State, req: &HttpRequest, flavor: Flavor) -> Option<HttpResponse> {
    if req.bearer_token() != Some(st.opts.api_key.as_str()) {
        return Some(match flavor {
            Flavor::Graphql => gql_error(401, "Unauthorized"),
            Flavor::Rest => problem(401, "Unauthorized", "missing or invalid bearer token"),
        });
    }
    if st.opts.rate_limit_first > 0 {
        st.opts.rate_limit_first -= 1;
        let r = match flavor {
            Flavor::Graphql => gql_error(429, "Too many requests, please slow down"),
            Flavor::Rest => problem(
                429,
                "Too Many Requests",
                "rate limit exceeded for the minute window",
            ),
        };
        return Some(r.header("retry-after", "1"));
    }
    None
}

fn new_id(st: &mut State) -> String {
    st.next_id += 1;
    // RunPod ids: 14 lowercase alphanumerics.
    let mut n = st.next_id;
    let mut tail = String::new();
    for _ in 0..8 {
        let d = (n % 36) as u32;
        tail.insert(0, std::char::from_digit(d, 36).unwrap_or('0'));
        n /= 36;
    }
    format!("fkpod0{tail}")
}

/// Why a create cannot be placed, if it cannot.
fn capacity_refusal(st: &State, gpu_id: &str, cloud: CloudType) -> Option<&'static str> {
    let gpu = st.opts.gpu_types.iter().find(|g| g.id == gpu_id)?;
    let blocked = st
        .opts
        .no_capacity
        .iter()
        .any(|(g, c)| (g == "*" || g == gpu_id) && *c == cloud);
    (blocked || gpu.stock == Stock::None || gpu.price(cloud).is_none())
        .then_some(NO_CAPACITY_MESSAGE)
}

struct NewPod {
    name: String,
    api: FakeApi,
    gpu_type_id: String,
    gpu_count: u32,
    cloud: CloudType,
    image: Option<String>,
    template_id: Option<String>,
    env: Vec<(String, String)>,
    ports: Vec<String>,
    container_disk_gb: u64,
    volume_gb: u64,
    docker_args: Option<String>,
    start_ssh: bool,
    bid_per_gpu: Option<f64>,
}

/// Places a pod, or the message to fail with.
fn place(st: &mut State, n: NewPod) -> Result<FakePod, String> {
    let Some(gpu) = st
        .opts
        .gpu_types
        .iter()
        .find(|g| g.id == n.gpu_type_id)
        .cloned()
    else {
        return Err(format!("GPU type {:?} is not available", n.gpu_type_id));
    };
    if let Some(msg) = capacity_refusal(st, &n.gpu_type_id, n.cloud) {
        return Err(msg.to_string());
    }
    let per_gpu = n.bid_per_gpu.or_else(|| gpu.price(n.cloud)).unwrap_or(0.0);
    let pod = FakePod {
        id: new_id(st),
        name: n.name,
        api: n.api,
        gpu_type_id: n.gpu_type_id,
        gpu_count: n.gpu_count,
        cloud_type: n.cloud,
        image: n.image,
        template_id: n.template_id,
        env: n.env,
        ports: n.ports,
        container_disk_gb: n.container_disk_gb,
        volume_gb: n.volume_gb,
        docker_args: n.docker_args,
        start_ssh: n.start_ssh,
        bid_per_gpu: n.bid_per_gpu,
        cost_per_hr: round2(per_gpu * n.gpu_count as f64),
        status: FakePodStatus::Running,
        polls: 0,
        created_at: Utc::now(),
        terminated_at: None,
    };
    st.pods.push(pod.clone());
    Ok(pod)
}

/// A live port mapping: `(ip, is_public, private, public, type)`.
type Mapping = (String, bool, u16, u16, String);

/// The runtime's port mappings for `pod` now (`None`: no runtime yet).
fn runtime_ports(opts: &FakeRunPodOptions, pod: &FakePod) -> Option<Vec<Mapping>> {
    if pod.status != FakePodStatus::Running || pod.polls <= opts.runtime_null_polls {
        return None;
    }
    if opts.ports_never {
        return Some(Vec::new());
    }
    let mut out = Vec::new();
    for spec in &pod.ports {
        let Some((port, kind)) = spec.split_once('/') else {
            continue;
        };
        let Ok(port) = port.trim().parse::<u16>() else {
            continue;
        };
        let kind = kind.trim().to_string();
        if port == 22 && kind == "tcp" {
            if let Some((ip, public)) = &opts.ssh_endpoint {
                out.push((ip.clone(), true, 22, *public, kind));
            }
        } else {
            out.push(("100.65.13.7".into(), false, port, 60000 + port % 5000, kind));
        }
    }
    Some(out)
}

fn uptime(pod: &FakePod) -> i64 {
    (Utc::now() - pod.created_at).num_seconds().max(0)
}

// ---------------------------------------------------------------------------------------------
// GraphQL
// ---------------------------------------------------------------------------------------------

/// Root fields that must take `(input: $input)`, and the type `$input` must be declared with.
const INPUT_TYPES: &[(&str, &str)] = &[
    ("pod", "PodFilter!"),
    ("podFindAndDeployOnDemand", "PodFindAndDeployOnDemandInput!"),
    ("podRentInterruptable", "PodRentInterruptableInput!"),
    ("podStop", "PodStopInput!"),
    ("podTerminate", "PodTerminateInput!"),
];

/// Input fields of `PodFindAndDeployOnDemandInput` (runpodctl's `CreatePodGQLInput` and
/// runpod-python's mutation).
const CREATE_FIELDS: &[&str] = &[
    "allowedCudaVersions",
    "cloudType",
    "compliance",
    "containerDiskInGb",
    "containerRegistryAuthId",
    "countryCode",
    "dataCenterId",
    "dockerArgs",
    "env",
    "gpuCount",
    "gpuTypeId",
    "imageName",
    "minCudaVersion",
    "minDownload",
    "minMemoryInGb",
    "minUpload",
    "minVcpuCount",
    "name",
    "networkVolumeId",
    "ports",
    "startJupyter",
    "startSsh",
    "stopAfter",
    "supportPublicIp",
    "templateId",
    "terminateAfter",
    "volumeInGb",
    "volumeMountPath",
];

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The root field of the (first) operation, and the text right after it.
fn root_field(query: &str) -> Option<(String, &str)> {
    let open = query.find('{')?;
    let rest = query[open + 1..].trim_start();
    let end = rest.find(|c: char| !is_ident(c)).unwrap_or(rest.len());
    let name = &rest[..end];
    let after = rest[end..].trim_start();
    // `alias: field`
    if let Some(aliased) = after.strip_prefix(':') {
        let aliased = aliased.trim_start();
        let end = aliased
            .find(|c: char| !is_ident(c))
            .unwrap_or(aliased.len());
        return Some((aliased[..end].to_string(), aliased[end..].trim_start()));
    }
    (!name.is_empty()).then(|| (name.to_string(), after))
}

/// The declared type of `$input` in the operation header, if any.
fn declared_input_type(query: &str) -> Option<String> {
    let header = &query[..query.find('{')?];
    let at = header.find("$input")?;
    let rest = header[at + "$input".len()..]
        .trim_start()
        .strip_prefix(':')?;
    let ty: String = rest
        .trim_start()
        .chars()
        .take_while(|c| is_ident(*c) || *c == '!' || *c == '[' || *c == ']')
        .collect();
    Some(ty)
}

/// Checks that `field` takes exactly `(input: $input)`; the validation error otherwise.
fn check_input_argument(field: &str, after: &str, query: &str) -> Result<(), String> {
    let Some(args) = after.strip_prefix('(') else {
        return Err(format!(
            "Field \"{field}\" argument \"input\" of type required but not provided."
        ));
    };
    let Some(close) = args.find(')') else {
        return Err("Syntax Error: Expected \")\".".into());
    };
    let inside = args[..close].trim();
    let compact: String = inside.chars().filter(|c| !c.is_whitespace()).collect();
    if compact != "input:$input" {
        return Err(format!(
            "FakeRunPod: \"{field}\" must take its values from variables as (input: $input), \
             not written into the query: ({inside})"
        ));
    }
    let want = INPUT_TYPES
        .iter()
        .find(|(f, _)| *f == field)
        .map(|(_, t)| *t)
        .unwrap_or("");
    match declared_input_type(query) {
        None => Err("Variable \"$input\" is not defined.".to_string()),
        Some(t) if t != want => Err(format!(
            "Variable \"$input\" of type \"{t}\" used in position expecting type \"{want}\"."
        )),
        Some(_) => {
            let after_args = args[close + 1..].trim_start();
            if field == "podTerminate" && after_args.starts_with('{') {
                return Err(
                    "Field \"podTerminate\" must not have a selection since type \"Void\" has no subfields."
                        .to_string(),
                );
            }
            Ok(())
        }
    }
}

fn graphql(state: &Arc<Mutex<State>>, req: &HttpRequest) -> HttpResponse {
    let mut st = lock(state);
    if let Some(r) = gate(&mut st, req, Flavor::Graphql) {
        return r;
    }
    let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
        return gql_error(400, "Must provide query string.");
    };
    let Some(query) = body
        .get("query")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        return gql_error(400, "Must provide query string.");
    };
    let variables = body.get("variables").cloned().unwrap_or(Value::Null);
    let parsed = root_field(&query);
    st.calls.push(GraphQlCall {
        root_field: parsed.as_ref().map(|(f, _)| f.clone()).unwrap_or_default(),
        query: query.clone(),
        variables: variables.clone(),
    });
    let Some((field, after)) = parsed else {
        return gql_error(400, "Syntax Error: Unexpected <EOF>.");
    };
    let needs_input = INPUT_TYPES.iter().any(|(f, _)| *f == field);
    let input = if needs_input {
        if let Err(msg) = check_input_argument(&field, after, &query) {
            return gql_error(400, &msg);
        }
        match variables.get("input") {
            Some(Value::Object(m)) => m.clone(),
            _ => {
                return gql_error(
                    400,
                    "Variable \"$input\" of required type was not provided.",
                )
            }
        }
    } else {
        Map::new()
    };
    match field.as_str() {
        "gpuTypes" => gql_gpu_types(&st),
        "myself" => {
            let opts = st.opts.clone();
            let pods: Vec<Value> = st
                .pods
                .iter()
                .filter(|p| p.is_alive())
                .map(|p| gql_pod(&opts, p))
                .collect();
            HttpResponse::json(200, &json!({ "data": { "myself": { "pods": pods } } }))
        }
        "pod" => {
            let id = input.get("podId").and_then(Value::as_str).unwrap_or("");
            let opts = st.opts.clone();
            match st.pods.iter_mut().find(|p| p.id == id && p.is_alive()) {
                Some(p) => {
                    p.polls += 1;
                    let v = gql_pod(&opts, p);
                    HttpResponse::json(200, &json!({ "data": { "pod": v } }))
                }
                None => HttpResponse::json(200, &json!({ "data": { "pod": null } })),
            }
        }
        "podFindAndDeployOnDemand" | "podRentInterruptable" => gql_create(&mut st, &field, &input),
        "podStop" => {
            let id = input.get("podId").and_then(Value::as_str).unwrap_or("");
            match st.pods.iter_mut().find(|p| p.id == id && p.is_alive()) {
                Some(p) => {
                    p.status = FakePodStatus::Exited;
                    HttpResponse::json(
                        200,
                        &json!({ "data": { "podStop": { "id": p.id, "desiredStatus": "EXITED" } } }),
                    )
                }
                None => gql_error(200, "Pod not found"),
            }
        }
        "podTerminate" => {
            if st.opts.terminate_fail_times > 0 {
                st.opts.terminate_fail_times -= 1;
                return gql_error(200, SOMETHING_WENT_WRONG);
            }
            let id = input.get("podId").and_then(Value::as_str).unwrap_or("");
            match st.pods.iter_mut().find(|p| p.id == id && p.is_alive()) {
                Some(p) => {
                    terminate(p);
                    HttpResponse::json(200, &json!({ "data": { "podTerminate": null } }))
                }
                None => gql_error(200, "Pod not found"),
            }
        }
        other => gql_error(
            400,
            &format!("Cannot query field \"{other}\" on type \"Query\"."),
        ),
    }
}

fn gql_gpu_types(st: &State) -> HttpResponse {
    let gpus: Vec<Value> = st
        .opts
        .gpu_types
        .iter()
        .map(|g| {
            json!({
                "id": g.id,
                "displayName": g.display_name,
                "memoryInGb": g.memory_gb,
                "securePrice": g.secure_price,
                "communityPrice": g.community_price,
                "communitySpotPrice": g.community_spot_price,
                "secureSpotPrice": g.secure_spot_price,
                "lowestPrice": {
                    "stockStatus": g.stock.graphql(),
                    "minimumBidPrice": g.community_spot_price.or(g.secure_spot_price),
                    "uninterruptablePrice": g.community_price.or(g.secure_price),
                },
            })
        })
        .collect();
    HttpResponse::json(200, &json!({ "data": { "gpuTypes": gpus } }))
}

fn gql_pod(opts: &FakeRunPodOptions, p: &FakePod) -> Value {
    let desired = match p.status {
        FakePodStatus::Running => "RUNNING",
        FakePodStatus::Exited => "EXITED",
        FakePodStatus::Terminated => "TERMINATED",
    };
    let runtime = runtime_ports(opts, p).map(|ports| {
        json!({
            "uptimeInSeconds": uptime(p),
            "ports": ports.into_iter().map(|(ip, public, private, pub_port, kind)| json!({
                "ip": ip, "isIpPublic": public, "privatePort": private,
                "publicPort": pub_port, "type": kind,
            })).collect::<Vec<_>>(),
            "gpus": [{ "id": format!("GPU-{}", p.id), "gpuUtilPercent": 0, "memoryUtilPercent": 0 }],
        })
    });
    let gpu = opts.gpu_types.iter().find(|g| g.id == p.gpu_type_id);
    json!({
        "id": p.id,
        "name": p.name,
        "desiredStatus": desired,
        "costPerHr": if p.status == FakePodStatus::Running { p.cost_per_hr } else { 0.0 },
        "imageName": p.image,
        "gpuCount": p.gpu_count,
        "containerDiskInGb": p.container_disk_gb,
        "volumeInGb": p.volume_gb,
        "ports": p.ports.join(","),
        "env": p.env.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
        "podType": if p.bid_per_gpu.is_some() { "INTERRUPTABLE" } else { "RESERVED" },
        "uptimeSeconds": if runtime.is_some() { uptime(p) } else { 0 },
        "machine": { "gpuDisplayName": gpu.map(|g| g.display_name.clone()) },
        "runtime": runtime,
    })
}

fn gql_create(st: &mut State, field: &str, input: &Map<String, Value>) -> HttpResponse {
    let spot = field == "podRentInterruptable";
    for key in input.keys() {
        if !(CREATE_FIELDS.contains(&key.as_str()) || (spot && key == "bidPerGpu")) {
            let ty = if spot {
                "PodRentInterruptableInput"
            } else {
                "PodFindAndDeployOnDemandInput"
            };
            return gql_error(
                400,
                &format!(
                    "Variable \"$input\" got invalid value; Field \"{key}\" is not defined by type \"{ty}\"."
                ),
            );
        }
    }
    let str_of = |k: &str| input.get(k).and_then(Value::as_str).map(str::to_string);
    let int_of = |k: &str| input.get(k).and_then(Value::as_u64);
    let invalid = |msg: &str| {
        gql_error(
            400,
            &format!("Variable \"$input\" got invalid value; {msg}"),
        )
    };
    let Some(gpu_type_id) = str_of("gpuTypeId") else {
        return invalid("Field \"gpuTypeId\" of required type \"String!\" was not provided.");
    };
    let cloud = match str_of("cloudType").as_deref() {
        None | Some("ALL") => {
            let gpu = st.opts.gpu_types.iter().find(|g| g.id == gpu_type_id);
            match gpu {
                Some(g) if g.community_price.is_some() => CloudType::Community,
                _ => CloudType::Secure,
            }
        }
        Some(s) => match CloudType::parse(s) {
            Some(c) => c,
            None => {
                return invalid(&format!(
                    "Value \"{s}\" does not exist in \"CloudTypeEnum\" enum."
                ))
            }
        },
    };
    let image = str_of("imageName");
    let template_id = str_of("templateId");
    if image.is_none() && template_id.is_none() {
        return gql_error(200, "Either imageName or templateId is required.");
    }
    let env = match input.get("env") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => {
            let mut env = Vec::new();
            for item in items {
                match (
                    item.get("key").and_then(Value::as_str),
                    item.get("value").and_then(Value::as_str),
                ) {
                    (Some(k), Some(v)) => env.push((k.to_string(), v.to_string())),
                    _ => {
                        return invalid(
                            "In field \"env\": Expected type \"EnvironmentVariableInput\" ({key, value} strings).",
                        )
                    }
                }
            }
            env
        }
        Some(_) => return invalid("In field \"env\": Expected a list."),
    };
    let ports = match input.get("ports") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => s
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect(),
        Some(_) => return invalid("In field \"ports\": Expected type \"String\"."),
    };
    let bid = input.get("bidPerGpu").and_then(Value::as_f64);
    if spot && bid.is_none() {
        return invalid("Field \"bidPerGpu\" of required type \"Float!\" was not provided.");
    }
    let new = NewPod {
        name: str_of("name").unwrap_or_default(),
        api: FakeApi::Graphql,
        gpu_type_id,
        gpu_count: int_of("gpuCount").unwrap_or(1).max(1) as u32,
        cloud,
        image,
        template_id,
        env,
        ports,
        container_disk_gb: int_of("containerDiskInGb").unwrap_or(0),
        volume_gb: int_of("volumeInGb").unwrap_or(0),
        docker_args: str_of("dockerArgs"),
        start_ssh: input
            .get("startSsh")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        bid_per_gpu: bid,
    };
    match place(st, new) {
        Ok(p) => HttpResponse::json(
            200,
            &json!({ "data": { field: {
                "id": p.id,
                "costPerHr": p.cost_per_hr,
                "desiredStatus": "RUNNING",
                "lastStatusChange": format!("Rented by User: {}", p.created_at.to_rfc2822()),
                "imageName": p.image,
                "machineId": format!("m-{}", p.id),
                "machine": { "podHostId": format!("{}-64411eb2", p.id) },
            } } }),
        ),
        Err(msg) => gql_error(200, &msg),
    }
}

// ---------------------------------------------------------------------------------------------
// REST v2
// ---------------------------------------------------------------------------------------------

const REST_CREATE_FIELDS: &[&str] = &[
    "args",
    "cloud",
    "cpu",
    "dataCenterIds",
    "disk",
    "env",
    "globalNetworking",
    "gpu",
    "image",
    "mounts",
    "name",
    "ports",
    "registry",
    "startJupyter",
    "startSsh",
    "templateId",
];

fn unprocessable(errors: Vec<String>) -> HttpResponse {
    HttpResponse::new(422)
        .header("content-type", "application/problem+json")
        .body(
            json!({
                "title": "Unprocessable Entity",
                "status": 422,
                "detail": "Request validation failed.",
                "errors": errors,
            })
            .to_string(),
        )
}

fn rest_pod(opts: &FakeRunPodOptions, p: &FakePod, provisioning: bool) -> Value {
    let ports = if provisioning {
        None
    } else {
        runtime_ports(opts, p)
    };
    let status = match p.status {
        FakePodStatus::Running if provisioning => "PROVISIONING",
        FakePodStatus::Running if ports.is_none() => "STARTING",
        FakePodStatus::Running => "RUNNING",
        FakePodStatus::Exited => "EXITED",
        FakePodStatus::Terminated => "TERMINATED",
    };
    let actions: &[&str] = match p.status {
        FakePodStatus::Running if status == "RUNNING" => &["stop", "restart", "terminate"],
        FakePodStatus::Running => &["stop", "terminate"],
        FakePodStatus::Exited => &["start", "terminate"],
        FakePodStatus::Terminated => &[],
    };
    let direct = ports.as_ref().and_then(|ps| {
        ps.iter()
            .find(|(_, public, private, _, _)| *public && *private == 22)
            .map(|(ip, _, _, port, _)| {
                json!({
                    "host": ip, "port": port, "username": "root",
                    "command": format!("ssh root@{ip} -p {port}"),
                })
            })
    });
    let runtime = match &ports {
        Some(ps) => json!({
            "uptime": uptime(p),
            "ports": ps.iter().map(|(ip, _, private, public, kind)| json!({
                "private": private, "public": public, "type": kind, "ip": ip,
            })).collect::<Vec<_>>(),
        }),
        _ => json!({}),
    };
    let env: Map<String, Value> = p
        .env
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    json!({
        "id": p.id,
        "name": p.name,
        "image": p.image.clone().unwrap_or_default(),
        "args": p.docker_args.clone().unwrap_or_default(),
        "disk": p.container_disk_gb,
        "ports": p.ports,
        "env": env,
        "registry": null,
        "status": status,
        "actions": actions,
        "mounts": if p.volume_gb > 0 {
            json!({ "persistent": { "size": p.volume_gb, "path": "/workspace" } })
        } else { json!({}) },
        "gpu": { "id": p.gpu_type_id, "count": p.gpu_count },
        "cloud": p.cloud_type.as_str(),
        "dataCenterId": "US-KS-2",
        "cudaVersion": "12.8",
        "ssh": {
            "proxy": { "host": "ssh.runpod.io", "port": 22,
                       "username": format!("{}-64411eb2", p.id),
                       "command": format!("ssh {}-64411eb2@ssh.runpod.io", p.id) },
            "direct": direct,
        },
        "template": p.template_id,
        "cost": if p.status == FakePodStatus::Running { p.cost_per_hr } else { 0.0 },
        "locked": false,
        "globalNetworking": { "enabled": false },
        "runtime": runtime,
        "createdAt": p.created_at.to_rfc3339(),
        "startedAt": if ports.is_some() { Value::String(p.created_at.to_rfc3339()) } else { Value::Null },
    })
}

fn rest_gpus(st: &State, req: &HttpRequest) -> HttpResponse {
    let include = req.query_param("include");
    let product = req.query_param("product");
    let availability = match (include.as_deref(), product.as_deref()) {
        (Some("AVAILABILITY"), Some(p)) if p.split(',').any(|p| p == "POD") => true,
        (Some("AVAILABILITY"), _) => {
            return problem(
                400,
                "Bad Request",
                "product is required with include=AVAILABILITY",
            )
        }
        (None, Some(_)) => {
            return problem(
                400,
                "Bad Request",
                "product is valid only with include=AVAILABILITY",
            )
        }
        (Some(other), _) => {
            return problem(
                400,
                "Bad Request",
                &format!("unsupported include value {other:?}"),
            )
        }
        (None, None) => false,
    };
    let cloud = match req.query_param("cloud") {
        None => CloudType::Secure,
        Some(c) => match CloudType::parse(&c) {
            Some(c) => c,
            None => return problem(400, "Bad Request", &format!("invalid cloud {c:?}")),
        },
    };
    let gpus: Vec<Value> = st
        .opts
        .gpu_types
        .iter()
        .map(|g| {
            let mut v = json!({
                "id": g.id,
                "name": g.display_name,
                "pool": null,
                "manufacturer": "NVIDIA",
                "memory": g.memory_gb,
                "secure": g.secure_price.is_some(),
                "community": g.community_price.is_some(),
                "price": {
                    "secure": g.secure_price.unwrap_or(0.0),
                    "community": g.community_price.unwrap_or(0.0),
                },
                "maxCount": { "secure": 8, "community": 4 },
            });
            if availability {
                let level = if g.price(cloud).is_some() {
                    g.stock.rest()
                } else {
                    "NONE"
                };
                v["availability"] = json!(level);
            }
            v
        })
        .collect();
    HttpResponse::json(200, &json!({ "gpus": gpus }))
}

fn rest_create(st: &mut State, req: &HttpRequest) -> HttpResponse {
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&req.body) else {
        return problem(400, "Bad Request", "the body is not a JSON object");
    };
    let mut errors: Vec<String> = body
        .keys()
        .filter(|k| !REST_CREATE_FIELDS.contains(&k.as_str()))
        .map(|k| format!("$: additional properties '{k}' not allowed"))
        .collect();
    let name = body.get("name").and_then(Value::as_str).unwrap_or("");
    if name.is_empty() {
        errors.push("$: required property 'name' not found".into());
    }
    let gpu = body.get("gpu");
    let gpu_id = gpu.and_then(|g| g.get("id")).and_then(Value::as_str);
    if gpu_id.is_none() {
        errors.push("$.gpu: required property 'id' not found".into());
    }
    let cloud = match body.get("cloud").and_then(Value::as_str) {
        None => Some(CloudType::Secure),
        Some(c) => CloudType::parse(c),
    };
    if cloud.is_none() {
        errors.push("$.cloud: value must be one of 'SECURE', 'COMMUNITY'".into());
    }
    let mut env = Vec::new();
    match body.get("env") {
        None => {}
        Some(Value::Object(m)) => {
            for (k, v) in m {
                match v.as_str() {
                    Some(v) => env.push((k.clone(), v.to_string())),
                    None => errors.push(format!("$.env.{k}: got {v}, want string")),
                }
            }
        }
        Some(_) => errors.push("$.env: want object".into()),
    }
    let mut ports = Vec::new();
    match body.get("ports") {
        None => {}
        Some(Value::Array(items)) => {
            for p in items {
                match p.as_str() {
                    Some(p) => ports.push(p.to_string()),
                    None => errors.push("$.ports: items must be strings".into()),
                }
            }
        }
        Some(_) => errors.push("$.ports: want array".into()),
    }
    let image = body
        .get("image")
        .and_then(Value::as_str)
        .map(str::to_string);
    let template_id = body
        .get("templateId")
        .and_then(Value::as_str)
        .map(str::to_string);
    if !errors.is_empty() {
        return unprocessable(errors);
    }
    if image.is_none() && template_id.is_none() {
        return problem(
            400,
            "Bad Request",
            "image is required unless templateId is set",
        );
    }
    let (Some(gpu_id), Some(cloud)) = (gpu_id, cloud) else {
        return unprocessable(vec!["$: invalid body".into()]);
    };
    let new = NewPod {
        name: name.to_string(),
        api: FakeApi::Rest,
        gpu_type_id: gpu_id.to_string(),
        gpu_count: gpu
            .and_then(|g| g.get("count"))
            .and_then(Value::as_u64)
            .unwrap_or(1)
            .max(1) as u32,
        cloud,
        image,
        template_id,
        env,
        ports,
        container_disk_gb: body.get("disk").and_then(Value::as_u64).unwrap_or(0),
        volume_gb: body
            .get("mounts")
            .and_then(|m| m.get("persistent"))
            .and_then(|p| p.get("size"))
            .and_then(Value::as_u64)
            .unwrap_or(0),
        docker_args: body.get("args").and_then(Value::as_str).map(str::to_string),
        start_ssh: body
            .get("startSsh")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        bid_per_gpu: None,
    };
    match place(st, new) {
        Ok(p) => HttpResponse::json(201, &rest_pod(&st.opts, &p, true)),
        Err(msg) => problem(400, "Bad Request", &msg),
    }
}

fn rest_terminate(st: &mut State, id: &str) -> HttpResponse {
    if !st.pods.iter().any(|p| p.id == id && p.is_alive()) {
        return problem(404, "Not Found", "pod not found");
    }
    if st.opts.terminate_fail_times > 0 {
        st.opts.terminate_fail_times -= 1;
        return problem(500, "Internal Server Error", SOMETHING_WENT_WRONG);
    }
    if let Some(p) = st.pods.iter_mut().find(|p| p.id == id && p.is_alive()) {
        terminate(p);
    }
    HttpResponse::new(204)
}

fn rest_action(st: &mut State, req: &HttpRequest, id: &str) -> HttpResponse {
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&req.body) else {
        return problem(400, "Bad Request", "the body is not a JSON object");
    };
    let extra: Vec<String> = body
        .keys()
        .filter(|k| k.as_str() != "action")
        .map(|k| format!("$: additional properties '{k}' not allowed"))
        .collect();
    if !extra.is_empty() {
        return unprocessable(extra);
    }
    let action = body.get("action").and_then(Value::as_str).unwrap_or("");
    if action == "terminate" {
        return rest_terminate(st, id);
    }
    let opts = st.opts.clone();
    let Some(p) = st.pods.iter_mut().find(|p| p.id == id && p.is_alive()) else {
        return problem(404, "Not Found", "pod not found");
    };
    match (action, p.status) {
        ("stop", FakePodStatus::Running) => p.status = FakePodStatus::Exited,
        ("start", FakePodStatus::Exited) => {
            p.status = FakePodStatus::Running;
            p.polls = 0;
        }
        ("restart", FakePodStatus::Running) => p.polls = 0,
        ("stop" | "start" | "restart", _) => {
            return problem(
                409,
                "Conflict",
                &format!("action {action} is not valid for the pod's current status"),
            )
        }
        _ => {
            return unprocessable(vec![format!(
                "$.action: value must be one of 'start', 'stop', 'restart', 'terminate'"
            )])
        }
    }
    let v = rest_pod(&opts, p, false);
    HttpResponse::json(200, &v)
}

fn router(state: &Arc<Mutex<State>>) -> Router {
    type Handler = fn(&mut State, &HttpRequest, &Params) -> HttpResponse;
    let rest = |state: &Arc<Mutex<State>>, f: Handler| {
        let s = Arc::clone(state);
        move |req: &HttpRequest, params: &Params| {
            let mut st = lock(&s);
            if let Some(r) = gate(&mut st, req, Flavor::Rest) {
                return r;
            }
            f(&mut st, req, params)
        }
    };
    let s = Arc::clone(state);
    Router::new()
        .route("POST", "/graphql", move |req, _| graphql(&s, req))
        .route(
            "GET",
            "/v2/catalog/gpus",
            rest(state, |st, req, _| rest_gpus(st, req)),
        )
        .route(
            "GET",
            "/v2/pods",
            rest(state, |st, _, _| {
                let pods: Vec<Value> = st
                    .pods
                    .iter()
                    .filter(|p| p.is_alive())
                    .map(|p| rest_pod(&st.opts, p, false))
                    .collect();
                HttpResponse::json(200, &json!({ "pods": pods }))
            }),
        )
        .route(
            "POST",
            "/v2/pods",
            rest(state, |st, req, _| rest_create(st, req)),
        )
        .route(
            "GET",
            "/v2/pods/{id}",
            rest(state, |st, _, p| {
                let opts = st.opts.clone();
                match st
                    .pods
                    .iter_mut()
                    .find(|x| x.id == p.get("id") && x.is_alive())
                {
                    Some(pod) => {
                        pod.polls += 1;
                        HttpResponse::json(200, &rest_pod(&opts, pod, false))
                    }
                    None => problem(404, "Not Found", "pod not found"),
                }
            }),
        )
        .route(
            "DELETE",
            "/v2/pods/{id}",
            rest(state, |st, _, p| rest_terminate(st, p.get("id"))),
        )
        .route(
            "POST",
            "/v2/pods/{id}/action",
            rest(state, |st, req, p| rest_action(st, req, p.get("id"))),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_fields_and_arguments() {
        let q = "mutation terminatePod($input: PodTerminateInput!) { podTerminate(input: $input) }";
        let (f, after) = root_field(q).unwrap();
        assert_eq!(f, "podTerminate");
        assert!(check_input_argument(&f, after, q).is_ok());

        let inline = r#"mutation { podTerminate(input: {podId: "abc"}) }"#;
        let (f, after) = root_field(inline).unwrap();
        let err = check_input_argument(&f, after, inline).unwrap_err();
        assert!(err.contains("variables"), "{err}");

        let selected =
            "mutation t($input: PodTerminateInput!) { podTerminate(input: $input) { id } }";
        let (f, after) = root_field(selected).unwrap();
        assert!(check_input_argument(&f, after, selected)
            .unwrap_err()
            .contains("must not have a selection"));

        let wrong_type = "query pod($input: PodStopInput!) { pod(input: $input) { id } }";
        let (f, after) = root_field(wrong_type).unwrap();
        assert!(check_input_argument(&f, after, wrong_type)
            .unwrap_err()
            .contains("expecting type \"PodFilter!\""));

        assert_eq!(
            root_field("query { myself { pods { id } } }").unwrap().0,
            "myself"
        );
        assert_eq!(root_field("{ gpuTypes { id } }").unwrap().0, "gpuTypes");
    }

    #[test]
    fn ids_are_distinct_and_runpod_shaped() {
        let mut st = State {
            opts: FakeRunPodOptions::default(),
            pods: Vec::new(),
            next_id: 0,
            calls: Vec::new(),
        };
        let a = new_id(&mut st);
        let b = new_id(&mut st);
        assert_ne!(a, b);
        assert_eq!(a.len(), 14);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
    }
}

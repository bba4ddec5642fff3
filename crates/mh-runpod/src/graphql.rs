//! [`PodApi`] over RunPod's GraphQL API (`POST https://api.runpod.io/graphql`, or
//! `RUNPOD_API_URL`), the operations as runpodctl builds them: every value travels in
//! `variables` (never interpolated into the query text), the key only in
//! `Authorization: Bearer`.
//!
//! Errors: HTTP 401/403 → [`ApiError::Auth`]; 429 → [`ApiError::RateLimited`]; 5xx →
//! [`ApiError::Server`]; `errors[0].message` saying there are no instances (or not enough free
//! GPUs) → [`ApiError::NoCapacity`]; `data.pod: null` or a "not found" message for a pod →
//! [`ApiError::NotFound`]; any other `errors[0].message` → [`ApiError::Api`]. Transport
//! failures, 429 and 5xx are retried inside the client ([`ClientOptions`]); a create only when
//! RunPod cannot have acted on it.
//!
//! Status: `desiredStatus: RUNNING` with `runtime: null` is [`PodStatus::Starting`] (image
//! pulling, container starting: RunPod bills it already); with a runtime, `Running`.
//! `CREATED`/`RESTARTING` are `Starting`, `EXITED`/`PAUSED` `Exited`, `DEAD` `Error`,
//! `TERMINATED` `Terminated`.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::api::{
    is_capacity_message, ApiError, ApiKind, ClientOptions, CloudType, CreatePod, GpuType, Pod,
    PodApi, PodPort, PodStatus, StockStatus,
};
use crate::credentials::ApiKey;
use crate::transport::{Http, Repeat, Reply};

/// RunPod's GraphQL endpoint.
pub const DEFAULT_GRAPHQL_URL: &str = "https://api.runpod.io/graphql";
/// Overrides [`DEFAULT_GRAPHQL_URL`] (tests point it at a loopback peer).
pub const GRAPHQL_URL_ENV: &str = "RUNPOD_API_URL";

const GPU_TYPES: &str = "query gpuTypes { gpuTypes { id displayName memoryInGb securePrice \
communityPrice communitySpotPrice secureSpotPrice lowestPrice(input: {gpuCount: 1}) { stockStatus \
minimumBidPrice uninterruptablePrice } } }";

const CREATE_ON_DEMAND: &str = "mutation createPod($input: PodFindAndDeployOnDemandInput!) { \
podFindAndDeployOnDemand(input: $input) { id costPerHr desiredStatus lastStatusChange } }";

const CREATE_SPOT: &str = "mutation createSpotPod($input: PodRentInterruptableInput!) { \
podRentInterruptable(input: $input) { id costPerHr desiredStatus lastStatusChange } }";

/// The pod fields read by [`GraphQlApi::pod`] and [`GraphQlApi::list_pods`].
const POD_FIELDS: &str = "id name desiredStatus costPerHr imageName uptimeSeconds \
machine { gpuDisplayName } runtime { uptimeInSeconds ports { ip isIpPublic privatePort publicPort type } }";

const STOP: &str =
    "mutation stopPod($input: PodStopInput!) { podStop(input: $input) { id desiredStatus } }";

/// `podTerminate` returns a scalar: no selection set.
const TERMINATE: &str =
    "mutation terminatePod($input: PodTerminateInput!) { podTerminate(input: $input) }";

/// A RunPod GraphQL client.
pub struct GraphQlApi {
    url: String,
    http: Http,
}

impl std::fmt::Debug for GraphQlApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphQlApi")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl GraphQlApi {
    pub fn new(url: &str, key: ApiKey, opts: ClientOptions) -> GraphQlApi {
        GraphQlApi {
            url: url.trim().to_string(),
            http: Http::new(key, opts),
        }
    }

    /// A client for [`default_url`](Self::default_url).
    pub fn from_env(key: ApiKey, opts: ClientOptions) -> GraphQlApi {
        GraphQlApi::new(&Self::default_url(), key, opts)
    }

    /// `RUNPOD_API_URL` when set and not empty, else [`DEFAULT_GRAPHQL_URL`].
    pub fn default_url() -> String {
        std::env::var(GRAPHQL_URL_ENV)
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| DEFAULT_GRAPHQL_URL.to_string())
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Runs one operation; returns `data`.
    fn execute(
        &self,
        op: &str,
        query: &str,
        variables: Value,
        repeat: Repeat,
    ) -> Result<Map<String, Value>, ApiError> {
        let body = json!({ "query": query, "variables": variables });
        self.http
            .request(op, "POST", &self.url, Some(&body), repeat, |reply| {
                interpret(op, reply)
            })
    }

    fn pod_input(id: &str) -> Value {
        json!({ "input": { "podId": id } })
    }
}

/// Maps an HTTP answer to `data` or an error.
fn interpret(op: &str, reply: Reply) -> Result<Map<String, Value>, ApiError> {
    let body = reply.json();
    let first_error = body
        .as_ref()
        .and_then(|b| b.get("errors"))
        .and_then(Value::as_array)
        .and_then(|errs| errs.first())
        .map(|e| {
            e.get("message")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| e.to_string())
        });
    let api = |message: String| {
        if is_capacity_message(&message) {
            ApiError::NoCapacity(message)
        } else {
            ApiError::Api {
                op: op.to_string(),
                message,
            }
        }
    };
    match reply.status {
        401 | 403 => {
            return Err(ApiError::Auth {
                status: reply.status,
            })
        }
        429 => {
            return Err(ApiError::RateLimited {
                retry_after: reply.retry_after,
            })
        }
        500..=599 => {
            return Err(ApiError::Server {
                op: op.to_string(),
                status: reply.status,
                message: first_error.unwrap_or_else(|| reply.snippet()),
            })
        }
        200..=299 => {}
        status => {
            return Err(api(
                first_error.unwrap_or_else(|| format!("HTTP {status}: {}", reply.snippet()))
            ))
        }
    }
    let Some(body) = body else {
        return Err(ApiError::Protocol {
            op: op.to_string(),
            message: format!("not JSON: {}", reply.snippet()),
        });
    };
    if let Some(message) = first_error {
        return Err(api(message));
    }
    match body.get("data") {
        Some(Value::Object(data)) => Ok(data.clone()),
        _ => Err(ApiError::Protocol {
            op: op.to_string(),
            message: "no `data` object and no `errors`".to_string(),
        }),
    }
}

/// `Api` errors about a missing pod become `NotFound`.
fn not_found_for(id: &str, err: ApiError) -> ApiError {
    match err {
        ApiError::Api { ref message, .. } if message.to_ascii_lowercase().contains("not found") => {
            ApiError::NotFound(id.to_string())
        }
        other => other,
    }
}

fn cloud_name(cloud: CloudType) -> &'static str {
    match cloud {
        CloudType::Community => "COMMUNITY",
        CloudType::Secure => "SECURE",
    }
}

/// The `PodFindAndDeployOnDemandInput` (and, with `bidPerGpu`, `PodRentInterruptableInput`)
/// for `req`. `dockerArgs` is never sent: an empty one replaces the image's start script, so
/// sshd never starts (anchors §4.3). `supportPublicIp` and `startSsh` are always on: direct
/// SSH needs both.
pub fn create_input(req: &CreatePod) -> Value {
    let mut input = Map::new();
    input.insert("name".into(), json!(req.name));
    if !req.image_name.is_empty() {
        input.insert("imageName".into(), json!(req.image_name));
    }
    input.insert("gpuTypeId".into(), json!(req.gpu_type_id));
    input.insert("cloudType".into(), json!(cloud_name(req.cloud_type)));
    input.insert("gpuCount".into(), json!(req.gpu_count.max(1)));
    input.insert("containerDiskInGb".into(), json!(req.container_disk_gb));
    input.insert("volumeInGb".into(), json!(req.volume_gb));
    if req.volume_gb > 0 {
        input.insert("volumeMountPath".into(), json!("/workspace"));
    }
    input.insert("minVcpuCount".into(), json!(req.min_vcpu));
    input.insert("minMemoryInGb".into(), json!(req.min_memory_gb));
    input.insert("ports".into(), json!(req.ports));
    input.insert(
        "env".into(),
        Value::Array(
            req.env
                .iter()
                .map(|(k, v)| json!({ "key": k, "value": v }))
                .collect(),
        ),
    );
    if let Some(t) = &req.template_id {
        input.insert("templateId".into(), json!(t));
    }
    input.insert("supportPublicIp".into(), json!(true));
    input.insert("startSsh".into(), json!(true));
    if let Some(bid) = req.bid_per_gpu {
        input.insert("bidPerGpu".into(), json!(bid));
    }
    Value::Object(input)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawGpuType {
    id: String,
    display_name: Option<String>,
    memory_in_gb: Option<f64>,
    secure_price: Option<f64>,
    community_price: Option<f64>,
    community_spot_price: Option<f64>,
    secure_spot_price: Option<f64>,
    lowest_price: Option<RawLowestPrice>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLowestPrice {
    stock_status: Option<String>,
}

/// RunPod reports "not offered" as `null` or `0`.
fn price(p: Option<f64>) -> Option<f64> {
    p.filter(|p| p.is_finite() && *p > 0.0)
}

/// `High`/`Medium`/`Low`/`None` (any case); anything else is unknown.
pub(crate) fn parse_stock(s: &str) -> Option<StockStatus> {
    match s.to_ascii_lowercase().as_str() {
        "high" => Some(StockStatus::High),
        "medium" => Some(StockStatus::Medium),
        "low" => Some(StockStatus::Low),
        "none" => Some(StockStatus::None),
        _ => None,
    }
}

impl From<RawGpuType> for GpuType {
    fn from(raw: RawGpuType) -> GpuType {
        GpuType {
            display_name: raw.display_name.unwrap_or_else(|| raw.id.clone()),
            id: raw.id,
            memory_gb: raw
                .memory_in_gb
                .filter(|m| m.is_finite() && *m >= 0.0)
                .map(|m| m.round() as u32)
                .unwrap_or(0),
            secure_price: price(raw.secure_price),
            community_price: price(raw.community_price),
            community_spot_price: price(raw.community_spot_price),
            secure_spot_price: price(raw.secure_spot_price),
            stock: raw
                .lowest_price
                .and_then(|l| l.stock_status)
                .and_then(|s| parse_stock(&s)),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPod {
    id: String,
    name: Option<String>,
    desired_status: Option<String>,
    cost_per_hr: Option<f64>,
    uptime_seconds: Option<f64>,
    machine: Option<RawMachine>,
    runtime: Option<RawRuntime>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMachine {
    gpu_display_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRuntime {
    uptime_in_seconds: Option<f64>,
    ports: Option<Vec<RawPort>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPort {
    ip: Option<String>,
    is_ip_public: Option<bool>,
    private_port: Option<u16>,
    public_port: Option<u16>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// `desiredStatus` + whether `runtime` is there → our status.
pub fn pod_status(desired: &str, has_runtime: bool) -> PodStatus {
    match desired {
        "RUNNING" if has_runtime => PodStatus::Running,
        "RUNNING" | "CREATED" | "RESTARTING" => PodStatus::Starting,
        "EXITED" | "PAUSED" => PodStatus::Exited,
        "DEAD" => PodStatus::Error,
        "TERMINATED" => PodStatus::Terminated,
        other => PodStatus::Other(other.to_string()),
    }
}

fn to_pod(raw: RawPod) -> Pod {
    let has_runtime = raw.runtime.is_some();
    let status = pod_status(raw.desired_status.as_deref().unwrap_or(""), has_runtime);
    let (runtime_uptime, ports) = match raw.runtime {
        Some(rt) => (
            rt.uptime_in_seconds,
            rt.ports
                .unwrap_or_default()
                .into_iter()
                .filter_map(|p| {
                    Some(PodPort {
                        ip: p.ip.filter(|ip| !ip.is_empty())?,
                        is_ip_public: p.is_ip_public.unwrap_or(false),
                        private_port: p.private_port?,
                        public_port: p.public_port?,
                        kind: p.kind.unwrap_or_default(),
                    })
                })
                .collect(),
        ),
        None => (None, Vec::new()),
    };
    Pod {
        name: raw.name.unwrap_or_default(),
        id: raw.id,
        status,
        cost_per_hr: raw.cost_per_hr,
        gpu_type: raw.machine.and_then(|m| m.gpu_display_name),
        uptime_seconds: runtime_uptime
            .or(raw.uptime_seconds)
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(|s| s as u64),
        ports,
    }
}

fn parse<T: serde::de::DeserializeOwned>(op: &str, what: &str, v: Value) -> Result<T, ApiError> {
    serde_json::from_value(v).map_err(|e| ApiError::Protocol {
        op: op.to_string(),
        message: format!("{what}: {e}"),
    })
}

impl PodApi for GraphQlApi {
    fn kind(&self) -> ApiKind {
        ApiKind::Graphql
    }

    fn gpu_types(&self) -> Result<Vec<GpuType>, ApiError> {
        let op = "gpuTypes";
        let mut data = self.execute(op, GPU_TYPES, json!({}), Repeat::Safe)?;
        let raw: Vec<RawGpuType> = parse(
            op,
            "gpuTypes",
            data.remove("gpuTypes").unwrap_or(Value::Null),
        )?;
        Ok(raw.into_iter().map(GpuType::from).collect())
    }

    fn create_pod(&self, req: &CreatePod) -> Result<String, ApiError> {
        let (op, query) = match req.bid_per_gpu {
            Some(_) => ("podRentInterruptable", CREATE_SPOT),
            None => ("podFindAndDeployOnDemand", CREATE_ON_DEMAND),
        };
        let variables = json!({ "input": create_input(req) });
        let mut data = self.execute(op, query, variables, Repeat::OnlyIfUnsent)?;
        match data.remove(op) {
            Some(Value::Object(pod)) => match pod.get("id").and_then(Value::as_str) {
                Some(id) if !id.is_empty() => Ok(id.to_string()),
                _ => Err(ApiError::Protocol {
                    op: op.to_string(),
                    message: "the created pod has no id".to_string(),
                }),
            },
            // RunPod answers `null` without an error when nothing matched the request.
            _ => Err(ApiError::NoCapacity(format!(
                "RunPod returned no pod for {} on {}",
                req.gpu_type_id,
                cloud_name(req.cloud_type)
            ))),
        }
    }

    fn pod(&self, id: &str) -> Result<Pod, ApiError> {
        let op = "pod";
        let query =
            format!("query pod($input: PodFilter!) {{ pod(input: $input) {{ {POD_FIELDS} }} }}");
        let mut data = self
            .execute(op, &query, Self::pod_input(id), Repeat::Safe)
            .map_err(|e| not_found_for(id, e))?;
        match data.remove("pod") {
            None | Some(Value::Null) => Err(ApiError::NotFound(id.to_string())),
            Some(v) => Ok(to_pod(parse(op, "pod", v)?)),
        }
    }

    fn stop_pod(&self, id: &str) -> Result<(), ApiError> {
        self.execute("podStop", STOP, Self::pod_input(id), Repeat::Safe)
            .map_err(|e| not_found_for(id, e))?;
        Ok(())
    }

    fn terminate_pod(&self, id: &str) -> Result<(), ApiError> {
        self.execute("podTerminate", TERMINATE, Self::pod_input(id), Repeat::Safe)
            .map_err(|e| not_found_for(id, e))?;
        Ok(())
    }

    fn list_pods(&self) -> Result<Vec<Pod>, ApiError> {
        let op = "myself";
        let query = format!("query myPods {{ myself {{ pods {{ {POD_FIELDS} }} }} }}");
        let mut data = self.execute(op, &query, json!({}), Repeat::Safe)?;
        let pods = data
            .remove("myself")
            .and_then(|mut m| m.get_mut("pods").map(Value::take))
            .unwrap_or(Value::Null);
        if pods.is_null() {
            return Ok(Vec::new());
        }
        let raw: Vec<RawPod> = parse(op, "myself.pods", pods)?;
        Ok(raw.into_iter().map(to_pod).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_mapping() {
        assert_eq!(pod_status("RUNNING", false), PodStatus::Starting);
        assert_eq!(pod_status("RUNNING", true), PodStatus::Running);
        assert_eq!(pod_status("CREATED", false), PodStatus::Starting);
        assert_eq!(pod_status("EXITED", false), PodStatus::Exited);
        assert_eq!(pod_status("TERMINATED", false), PodStatus::Terminated);
        assert_eq!(pod_status("DEAD", false), PodStatus::Error);
        assert_eq!(
            pod_status("MIGRATING", true),
            PodStatus::Other("MIGRATING".into())
        );
    }

    #[test]
    fn queries_carry_no_values() {
        for q in [
            GPU_TYPES,
            CREATE_ON_DEMAND,
            CREATE_SPOT,
            STOP,
            TERMINATE,
            POD_FIELDS,
        ] {
            assert!(!q.contains('"'), "a literal string in {q}");
        }
        assert!(!TERMINATE.contains("podTerminate(input: $input) {"));
    }

    #[test]
    fn create_input_fields() {
        let req = CreatePod {
            name: "mh-train-1".into(),
            image_name: "ghcr.io/x/mh-train:cuda".into(),
            gpu_type_id: "NVIDIA GeForce RTX 4090".into(),
            cloud_type: CloudType::Community,
            gpu_count: 1,
            container_disk_gb: 40,
            volume_gb: 0,
            min_vcpu: 4,
            min_memory_gb: 16,
            ports: "22/tcp".into(),
            env: vec![("SSH_PUBLIC_KEY".into(), "ssh-ed25519 AAAA".into())],
            template_id: None,
            bid_per_gpu: None,
        };
        let v = create_input(&req);
        assert_eq!(v["cloudType"], "COMMUNITY");
        assert_eq!(v["env"][0]["key"], "SSH_PUBLIC_KEY");
        assert_eq!(v["startSsh"], true);
        assert!(v.get("dockerArgs").is_none());
        assert!(v.get("bidPerGpu").is_none());
        assert!(v.get("templateId").is_none());
        let spot = create_input(&CreatePod {
            bid_per_gpu: Some(0.2),
            ..req
        });
        assert_eq!(spot["bidPerGpu"], 0.2);
    }
}

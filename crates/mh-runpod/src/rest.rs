//! [`PodApi`] over RunPod's REST API v2 (`https://api.runpod.io/v2`, or `RUNPOD_REST_URL`), the
//! successor of the GraphQL API (retired early 2027). Shapes from RunPod's
//! `api-reference-v2/openapi.json`:
//!
//! * `GET /catalog/gpus?include=AVAILABILITY&product=POD&count=1&cloud=…` → `{gpus: [{id, name,
//!   memory, secure, community, price {secure, community}, availability}]}`, asked once per cloud
//!   (availability is per cloud); a GPU type's stock is the better of the two.
//! * `POST /pods` with a `CreatePodRequest` (`name`, `image`, `templateId`, `gpu {id, count}`,
//!   `cloud`, `disk`, `env` object, `ports` array, `mounts.persistent`, `startSsh`) → `201` pod.
//!   REST v2 has no minimum vCPU/RAM fields (those of [`CreatePod`] are not sent) and no spot
//!   pods ([`ApiError::Unsupported`]: use `--api graphql`).
//! * `GET /pods/{id}`, `GET /pods` → `Pod {id, name, status, cost, gpu {id}, ssh {direct {host,
//!   port}}, runtime {uptime, ports}}`; `ssh.direct` becomes the public port-22 mapping.
//! * `POST /pods/{id}/action {"action": "stop" | "terminate"}`.
//!
//! Errors are RFC 7807 problems `{title, status, detail, errors[]}`: 401 → [`ApiError::Auth`];
//! 403 → `Auth`, except on create, where RunPod documents it as "your account cannot access the
//! requested pool — skip this candidate", i.e. [`ApiError::NoCapacity`]; 404 →
//! [`ApiError::NotFound`]; 429 → [`ApiError::RateLimited`] (`Retry-After`); 5xx →
//! [`ApiError::Server`]; a create's 400 whose `detail` says there is no capacity →
//! `NoCapacity`; anything else → [`ApiError::Api`] with the detail.

use std::net::IpAddr;

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::api::{
    is_capacity_message, ApiError, ApiKind, ClientOptions, CloudType, CreatePod, GpuType, Pod,
    PodApi, PodPort, PodStatus, StockStatus,
};
use crate::credentials::ApiKey;
use crate::graphql::parse_stock;
use crate::transport::{Http, Repeat, Reply};

/// RunPod's REST v2 base (paths below it: `/pods`, `/catalog/gpus`, …).
pub const DEFAULT_REST_URL: &str = "https://api.runpod.io/v2";
/// Overrides [`DEFAULT_REST_URL`].
pub const REST_URL_ENV: &str = "RUNPOD_REST_URL";

/// A RunPod REST v2 client.
pub struct RestApi {
    base: String,
    http: Http,
}

impl std::fmt::Debug for RestApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestApi")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// What an operation does with a pod, for error mapping.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Create,
    Other,
}

impl RestApi {
    pub fn new(base: &str, key: ApiKey, opts: ClientOptions) -> RestApi {
        RestApi {
            base: base.trim().trim_end_matches('/').to_string(),
            http: Http::new(key, opts),
        }
    }

    /// A client for [`default_url`](Self::default_url).
    pub fn from_env(key: ApiKey, opts: ClientOptions) -> RestApi {
        RestApi::new(&Self::default_url(), key, opts)
    }

    /// `RUNPOD_REST_URL` when set and not empty, else [`DEFAULT_REST_URL`].
    pub fn default_url() -> String {
        std::env::var(REST_URL_ENV)
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| DEFAULT_REST_URL.to_string())
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn pod_url(&self, id: &str) -> String {
        format!("{}/pods/{}", self.base, encode_segment(id))
    }

    /// Sends and returns the JSON body of a 2xx answer (`Null` for an empty one).
    #[allow(clippy::too_many_arguments)]
    fn call(
        &self,
        op: &str,
        method: &str,
        url: &str,
        body: Option<&Value>,
        repeat: Repeat,
        kind: Kind,
        pod_id: Option<&str>,
    ) -> Result<Value, ApiError> {
        self.http.request(op, method, url, body, repeat, |reply| {
            interpret(op, reply, kind, pod_id)
        })
    }
}

/// Percent-encodes one path segment (pod ids are alphanumeric; anything else is escaped).
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn interpret(op: &str, reply: Reply, kind: Kind, pod_id: Option<&str>) -> Result<Value, ApiError> {
    let body = reply.json();
    if (200..300).contains(&reply.status) {
        return match body {
            Some(v) => Ok(v),
            None if reply.body.trim().is_empty() => Ok(Value::Null),
            None => Err(ApiError::Protocol {
                op: op.to_string(),
                message: format!("not JSON: {}", reply.snippet()),
            }),
        };
    }
    // RFC 7807: detail, plus validation errors when there are any.
    let detail = body.as_ref().and_then(|b| {
        let detail = b.get("detail").and_then(Value::as_str).map(str::to_string);
        let title = b.get("title").and_then(Value::as_str).map(str::to_string);
        let errors: Vec<String> = b
            .get("errors")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let head = detail.or(title)?;
        Some(if errors.is_empty() {
            head
        } else {
            format!("{head} ({})", errors.join("; "))
        })
    });
    let message = detail.unwrap_or_else(|| format!("HTTP {}: {}", reply.status, reply.snippet()));
    let api = |message: String| ApiError::Api {
        op: op.to_string(),
        message,
    };
    Err(match reply.status {
        401 => ApiError::Auth { status: 401 },
        403 if kind == Kind::Create => ApiError::NoCapacity(format!(
            "RunPod refused this GPU pool for the account (HTTP 403): {message}"
        )),
        403 => ApiError::Auth { status: 403 },
        404 => match pod_id {
            Some(id) => ApiError::NotFound(id.to_string()),
            None => api(format!("HTTP 404: {message}")),
        },
        429 => ApiError::RateLimited {
            retry_after: reply.retry_after,
        },
        402 => api(format!("insufficient balance (HTTP 402): {message}")),
        400 if kind == Kind::Create && is_capacity_message(&message) => {
            ApiError::NoCapacity(message)
        }
        status @ 500..=599 => ApiError::Server {
            op: op.to_string(),
            status,
            message,
        },
        status => api(format!("HTTP {status}: {message}")),
    })
}

fn cloud_name(cloud: CloudType) -> &'static str {
    match cloud {
        CloudType::Community => "COMMUNITY",
        CloudType::Secure => "SECURE",
    }
}

/// The `CreatePodRequest` body for `req` (only fields the v2 schema defines: it rejects others).
pub fn create_body(req: &CreatePod) -> Value {
    let mut body = Map::new();
    body.insert("name".into(), json!(req.name));
    if !req.image_name.is_empty() {
        body.insert("image".into(), json!(req.image_name));
    }
    if let Some(t) = &req.template_id {
        body.insert("templateId".into(), json!(t));
    }
    body.insert(
        "gpu".into(),
        json!({ "id": req.gpu_type_id, "count": req.gpu_count.max(1) }),
    );
    body.insert("cloud".into(), json!(cloud_name(req.cloud_type)));
    if req.container_disk_gb > 0 {
        body.insert("disk".into(), json!(req.container_disk_gb));
    }
    let env: Map<String, Value> = req
        .env
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    body.insert("env".into(), Value::Object(env));
    let ports: Vec<&str> = req
        .ports
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    body.insert("ports".into(), json!(ports));
    if req.volume_gb > 0 {
        body.insert(
            "mounts".into(),
            json!({ "persistent": { "size": req.volume_gb, "path": "/workspace" } }),
        );
    }
    body.insert("startSsh".into(), json!(true));
    Value::Object(body)
}

#[derive(Deserialize)]
struct RawGpuList {
    gpus: Vec<RawGpu>,
}

#[derive(Deserialize)]
struct RawGpu {
    id: String,
    name: Option<String>,
    memory: Option<f64>,
    secure: Option<bool>,
    community: Option<bool>,
    price: Option<RawPrice>,
    availability: Option<String>,
}

#[derive(Deserialize)]
struct RawPrice {
    secure: Option<f64>,
    community: Option<f64>,
}

#[derive(Deserialize)]
struct RawPodList {
    pods: Vec<RawPod>,
}

#[derive(Deserialize)]
struct RawPod {
    id: String,
    name: Option<String>,
    status: Option<String>,
    cost: Option<f64>,
    gpu: Option<RawGpuRef>,
    ssh: Option<RawSsh>,
    runtime: Option<RawRuntime>,
}

#[derive(Deserialize)]
struct RawGpuRef {
    id: Option<String>,
}

#[derive(Deserialize)]
struct RawSsh {
    direct: Option<RawSshEndpoint>,
}

#[derive(Deserialize)]
struct RawSshEndpoint {
    host: String,
    port: u16,
}

#[derive(Deserialize)]
struct RawRuntime {
    uptime: Option<f64>,
    ports: Option<Vec<RawRuntimePort>>,
}

#[derive(Deserialize)]
struct RawRuntimePort {
    private: Option<u16>,
    public: Option<u16>,
    #[serde(rename = "type")]
    kind: Option<String>,
    ip: Option<String>,
}

/// REST v2 `status` → ours.
pub fn pod_status(status: &str) -> PodStatus {
    match status {
        "PROVISIONING" | "STARTING" => PodStatus::Starting,
        "RUNNING" => PodStatus::Running,
        "EXITED" => PodStatus::Exited,
        "ERROR" => PodStatus::Error,
        "TERMINATED" => PodStatus::Terminated,
        other => PodStatus::Other(other.to_string()),
    }
}

/// REST v2 runtime ports carry no `isIpPublic`: an address is taken as public when it is not
/// private, loopback, link-local or unspecified. `ssh.direct` (RunPod's own "public port for
/// 22/tcp") is always public.
fn looks_public(ip: &str) -> bool {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => {
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast())
        }
        Ok(IpAddr::V6(v6)) => !(v6.is_loopback() || v6.is_unspecified()),
        Err(_) => false,
    }
}

fn to_pod(raw: RawPod) -> Pod {
    let mut ports = Vec::new();
    if let Some(direct) = raw.ssh.and_then(|s| s.direct) {
        ports.push(PodPort {
            ip: direct.host,
            is_ip_public: true,
            private_port: 22,
            public_port: direct.port,
            kind: "tcp".to_string(),
        });
    }
    let mut uptime = None;
    if let Some(rt) = raw.runtime {
        uptime = rt
            .uptime
            .filter(|u| u.is_finite() && *u >= 0.0)
            .map(|u| u as u64);
        for p in rt.ports.unwrap_or_default() {
            let (Some(private), Some(public), Some(ip)) = (p.private, p.public, p.ip) else {
                continue;
            };
            let port = PodPort {
                is_ip_public: looks_public(&ip),
                ip,
                private_port: private,
                public_port: public,
                kind: p.kind.unwrap_or_default(),
            };
            if !ports.contains(&port) {
                ports.push(port);
            }
        }
    }
    Pod {
        id: raw.id,
        name: raw.name.unwrap_or_default(),
        status: pod_status(raw.status.as_deref().unwrap_or("")),
        cost_per_hr: raw.cost,
        gpu_type: raw.gpu.and_then(|g| g.id),
        uptime_seconds: uptime,
        ports,
    }
}

fn parse<T: serde::de::DeserializeOwned>(op: &str, v: Value) -> Result<T, ApiError> {
    serde_json::from_value(v).map_err(|e| ApiError::Protocol {
        op: op.to_string(),
        message: e.to_string(),
    })
}

fn stock_of(raw: &RawGpu, offered: bool) -> Option<StockStatus> {
    if !offered {
        return None;
    }
    raw.availability.as_deref().and_then(parse_stock)
}

impl PodApi for RestApi {
    fn kind(&self) -> ApiKind {
        ApiKind::Rest
    }

    fn gpu_types(&self) -> Result<Vec<GpuType>, ApiError> {
        let op = "GET /catalog/gpus";
        let mut merged: Vec<GpuType> = Vec::new();
        for cloud in [CloudType::Community, CloudType::Secure] {
            let url = format!(
                "{}/catalog/gpus?include=AVAILABILITY&product=POD&count=1&cloud={}",
                self.base,
                cloud_name(cloud)
            );
            let v = self.call(op, "GET", &url, None, Repeat::Safe, Kind::Other, None)?;
            let list: RawGpuList = parse(op, v)?;
            for raw in list.gpus {
                let community = raw.community.unwrap_or(false);
                let secure = raw.secure.unwrap_or(false);
                let offered = match cloud {
                    CloudType::Community => community,
                    CloudType::Secure => secure,
                };
                let stock = stock_of(&raw, offered);
                let prices = raw.price.as_ref();
                let positive = |p: Option<f64>| p.filter(|p| p.is_finite() && *p > 0.0);
                match merged.iter_mut().find(|g| g.id == raw.id) {
                    Some(g) => g.stock = g.stock.max(stock),
                    None => merged.push(GpuType {
                        display_name: raw.name.clone().unwrap_or_else(|| raw.id.clone()),
                        id: raw.id.clone(),
                        memory_gb: raw
                            .memory
                            .filter(|m| m.is_finite() && *m >= 0.0)
                            .map(|m| m.round() as u32)
                            .unwrap_or(0),
                        secure_price: positive(prices.and_then(|p| p.secure)).filter(|_| secure),
                        community_price: positive(prices.and_then(|p| p.community))
                            .filter(|_| community),
                        community_spot_price: None,
                        secure_spot_price: None,
                        stock,
                    }),
                }
            }
        }
        Ok(merged)
    }

    fn create_pod(&self, req: &CreatePod) -> Result<String, ApiError> {
        if req.bid_per_gpu.is_some() {
            return Err(ApiError::Unsupported(
                "spot pods need --api graphql: RunPod's REST v2 has no interruptible pods"
                    .to_string(),
            ));
        }
        let op = "POST /pods";
        let url = format!("{}/pods", self.base);
        let body = create_body(req);
        let v = self.call(
            op,
            "POST",
            &url,
            Some(&body),
            Repeat::OnlyIfUnsent,
            Kind::Create,
            None,
        )?;
        match v.get("id").and_then(Value::as_str) {
            Some(id) if !id.is_empty() => Ok(id.to_string()),
            _ => Err(ApiError::Protocol {
                op: op.to_string(),
                message: "the created pod has no id".to_string(),
            }),
        }
    }

    fn pod(&self, id: &str) -> Result<Pod, ApiError> {
        let op = "GET /pods/{id}";
        let v = self.call(
            op,
            "GET",
            &self.pod_url(id),
            None,
            Repeat::Safe,
            Kind::Other,
            Some(id),
        )?;
        if v.is_null() {
            return Err(ApiError::NotFound(id.to_string()));
        }
        Ok(to_pod(parse(op, v)?))
    }

    fn stop_pod(&self, id: &str) -> Result<(), ApiError> {
        let url = format!("{}/action", self.pod_url(id));
        self.call(
            "POST /pods/{id}/action stop",
            "POST",
            &url,
            Some(&json!({ "action": "stop" })),
            Repeat::Safe,
            Kind::Other,
            Some(id),
        )?;
        Ok(())
    }

    fn terminate_pod(&self, id: &str) -> Result<(), ApiError> {
        let url = format!("{}/action", self.pod_url(id));
        self.call(
            "POST /pods/{id}/action terminate",
            "POST",
            &url,
            Some(&json!({ "action": "terminate" })),
            Repeat::Safe,
            Kind::Other,
            Some(id),
        )?;
        Ok(())
    }

    fn list_pods(&self) -> Result<Vec<Pod>, ApiError> {
        let op = "GET /pods";
        let url = format!("{}/pods", self.base);
        let v = self.call(op, "GET", &url, None, Repeat::Safe, Kind::Other, None)?;
        let list: RawPodList = parse(op, v)?;
        Ok(list.pods.into_iter().map(to_pod).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(pod_status("PROVISIONING"), PodStatus::Starting);
        assert_eq!(pod_status("STARTING"), PodStatus::Starting);
        assert_eq!(pod_status("RUNNING"), PodStatus::Running);
        assert_eq!(pod_status("ERROR"), PodStatus::Error);
        assert_eq!(pod_status("TERMINATED"), PodStatus::Terminated);
    }

    #[test]
    fn ssh_direct_is_the_port_22_mapping() {
        let raw: RawPod = serde_json::from_value(json!({
            "id": "7h9k2m4n6p", "name": "p", "status": "RUNNING", "cost": 0.44,
            "gpu": {"id": "NVIDIA GeForce RTX 4090", "count": 1},
            "ssh": {"proxy": null, "direct": {"host": "195.26.233.3", "port": 34446,
                    "username": "root", "command": "ssh root@195.26.233.3 -p 34446"}},
            "runtime": {"uptime": 3600, "ports": [
                {"private": 22, "public": 34446, "type": "tcp", "ip": "195.26.233.3"},
                {"private": 8888, "public": 8888, "type": "http", "ip": "10.0.0.4"}]}
        }))
        .unwrap();
        let pod = to_pod(raw);
        assert_eq!(
            pod.ssh_endpoint(),
            Some(("195.26.233.3".to_string(), 34446))
        );
        assert_eq!(pod.ports.len(), 2, "the duplicate 22 mapping is merged");
        assert!(!pod.ports[1].is_ip_public);
        assert_eq!(pod.uptime_seconds, Some(3600));
    }

    #[test]
    fn create_body_uses_v2_names() {
        let req = CreatePod {
            name: "n".into(),
            image_name: "img".into(),
            gpu_type_id: "NVIDIA RTX A5000".into(),
            cloud_type: CloudType::Secure,
            gpu_count: 1,
            container_disk_gb: 40,
            volume_gb: 20,
            min_vcpu: 4,
            min_memory_gb: 16,
            ports: "8888/http, 22/tcp".into(),
            env: vec![("A".into(), "1".into())],
            template_id: None,
            bid_per_gpu: None,
        };
        let b = create_body(&req);
        assert_eq!(b["image"], "img");
        assert_eq!(b["gpu"], json!({"id": "NVIDIA RTX A5000", "count": 1}));
        assert_eq!(b["cloud"], "SECURE");
        assert_eq!(b["disk"], 40);
        assert_eq!(b["env"], json!({"A": "1"}));
        assert_eq!(b["ports"], json!(["8888/http", "22/tcp"]));
        assert_eq!(b["mounts"]["persistent"]["size"], 20);
        assert_eq!(b["startSsh"], true);
        assert!(b.get("minVcpuCount").is_none() && b.get("imageName").is_none());
    }
}

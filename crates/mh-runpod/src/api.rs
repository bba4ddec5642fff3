//! The pod operations mh-train needs, as one small trait with two wire formats behind it
//! ([`crate::graphql::GraphQlApi`], [`crate::rest::RestApi`]).

use serde::{Deserialize, Serialize};

/// Which RunPod API a client speaks (`--api graphql|rest`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiKind {
    #[default]
    Graphql,
    Rest,
}

/// RunPod's cloud types (GraphQL enum `CloudType`; REST v2 `cloud`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum CloudType {
    Community,
    Secure,
}

/// `lowestPrice.stockStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum StockStatus {
    None,
    Low,
    Medium,
    High,
}

/// A GPU type with its prices (USD per GPU-hour) and stock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuType {
    /// RunPod's id, e.g. `NVIDIA GeForce RTX 4090`.
    pub id: String,
    pub display_name: String,
    pub memory_gb: u32,
    pub secure_price: Option<f64>,
    pub community_price: Option<f64>,
    pub community_spot_price: Option<f64>,
    pub secure_spot_price: Option<f64>,
    /// `None` when the API did not say.
    pub stock: Option<StockStatus>,
}

/// What to create (runpodctl's `PodFindAndDeployOnDemandInput` fields we use).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatePod {
    pub name: String,
    pub image_name: String,
    pub gpu_type_id: String,
    pub cloud_type: CloudType,
    pub gpu_count: u32,
    pub container_disk_gb: u32,
    pub volume_gb: u32,
    pub min_vcpu: u32,
    pub min_memory_gb: u32,
    /// `"22/tcp"` at least; direct SSH needs it.
    pub ports: String,
    /// Pod env (e.g. `SSH_PUBLIC_KEY`). Values may be secret: never printed.
    pub env: Vec<(String, String)>,
    pub template_id: Option<String>,
    /// Spot (interruptible) at this bid per GPU-hour; `None`: on demand. GraphQL only.
    pub bid_per_gpu: Option<f64>,
}

impl std::fmt::Debug for CreatePod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatePod")
            .field("name", &self.name)
            .field("image_name", &self.image_name)
            .field("gpu_type_id", &self.gpu_type_id)
            .field("cloud_type", &self.cloud_type)
            .field("gpu_count", &self.gpu_count)
            .field("ports", &self.ports)
            .field(
                "env",
                &self.env.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            )
            .field("template_id", &self.template_id)
            .field("bid_per_gpu", &self.bid_per_gpu)
            .finish_non_exhaustive()
    }
}

/// A pod's state as the API reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PodStatus {
    /// Created, image pulling or container starting (REST PROVISIONING/STARTING; GraphQL
    /// `desiredStatus: RUNNING` with `runtime: null`).
    Starting,
    Running,
    Exited,
    Error,
    Terminated,
    /// Anything else the API says, kept verbatim.
    Other(String),
}

/// One entry of `runtime.ports`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodPort {
    pub ip: String,
    pub is_ip_public: bool,
    pub private_port: u16,
    pub public_port: u16,
    /// `tcp` or `http`.
    pub kind: String,
}

/// A pod as the API describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pod {
    pub id: String,
    pub name: String,
    pub status: PodStatus,
    /// USD per hour for the whole pod.
    pub cost_per_hr: Option<f64>,
    pub gpu_type: Option<String>,
    pub uptime_seconds: Option<u64>,
    /// Empty while `runtime` is null.
    pub ports: Vec<PodPort>,
}

impl Pod {
    /// The direct SSH endpoint: the public mapping of private port 22 (runpodctl's rule).
    pub fn ssh_endpoint(&self) -> Option<(String, u16)> {
        self.ports
            .iter()
            .find(|p| p.private_port == 22 && p.is_ip_public)
            .map(|p| (p.ip.clone(), p.public_port))
    }

    /// Still billing: anything but terminated.
    pub fn is_alive(&self) -> bool {
        self.status != PodStatus::Terminated
    }
}

/// Why an API call failed. Messages never contain the API key.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(
        "RunPod refused the API key (HTTP {status}): check RUNPOD_API_KEY or the credentials file"
    )]
    Auth { status: u16 },
    /// "There are no longer any instances available…" and kin: try another GPU type or cloud.
    #[error("no capacity: {0}")]
    NoCapacity(String),
    #[error("rate limited by RunPod (HTTP 429){}", retry_after.map(|s| format!(", retry after {s} s")).unwrap_or_default())]
    RateLimited { retry_after: Option<u64> },
    #[error("pod {0} not found")]
    NotFound(String),
    #[error("RunPod {op} failed: {message}")]
    Api { op: String, message: String },
    #[error("RunPod {op}: cannot reach {url}: {message}")]
    Transport {
        op: String,
        url: String,
        message: String,
    },
    /// HTTP 5xx: RunPod's side failed; worth trying again.
    #[error("RunPod {op} failed on RunPod's side (HTTP {status}): {message}")]
    Server {
        op: String,
        status: u16,
        message: String,
    },
    #[error("RunPod {op}: unexpected response: {message}")]
    Protocol { op: String, message: String },
    /// The chosen API cannot do this (e.g. spot pods over REST v2).
    #[error("{0}")]
    Unsupported(String),
}

impl ApiError {
    /// Worth trying again later with the same request (network, rate limit, 5xx).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ApiError::RateLimited { .. } | ApiError::Transport { .. } | ApiError::Server { .. }
        )
    }
}

/// How a client talks to RunPod: timeouts and retries of transient failures.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientOptions {
    /// Connect, read and write timeout of one request (runpod-python uses 30 s).
    pub timeout: std::time::Duration,
    /// Extra attempts after a transient failure (transport, HTTP 429, HTTP 5xx).
    pub retries: u32,
    /// Wait before the first retry; doubled for each further one.
    pub retry_delay: std::time::Duration,
    /// Upper bound on any one wait, including a server's `Retry-After`.
    pub max_retry_wait: std::time::Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: std::time::Duration::from_secs(30),
            retries: 3,
            retry_delay: std::time::Duration::from_secs(1),
            max_retry_wait: std::time::Duration::from_secs(60),
        }
    }
}

/// A client of `kind` at its default URL (`RUNPOD_API_URL` / `RUNPOD_REST_URL`, else RunPod's).
pub fn connect(
    kind: ApiKind,
    key: crate::credentials::ApiKey,
    opts: ClientOptions,
) -> Box<dyn PodApi> {
    match kind {
        ApiKind::Graphql => Box::new(crate::graphql::GraphQlApi::from_env(key, opts)),
        ApiKind::Rest => Box::new(crate::rest::RestApi::from_env(key, opts)),
    }
}

/// A client of `kind` with default options, its key from `RUNPOD_API_KEY` or a credentials
/// file (`credentials`, else the default one; see [`crate::credentials::ApiKey::resolve`]).
pub fn connect_with_saved_key(
    kind: ApiKind,
    credentials: Option<&std::path::Path>,
) -> Result<Box<dyn PodApi>, crate::credentials::CredentialsError> {
    let key = crate::credentials::ApiKey::resolve(credentials)?;
    Ok(connect(kind, key, ClientOptions::default()))
}

impl std::fmt::Display for ApiKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ApiKind::Graphql => "graphql",
            ApiKind::Rest => "rest",
        })
    }
}

impl std::str::FromStr for ApiKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "graphql" => Ok(ApiKind::Graphql),
            "rest" => Ok(ApiKind::Rest),
            other => Err(format!(
                "unknown RunPod API {other:?}: expected graphql or rest"
            )),
        }
    }
}

impl std::fmt::Display for CloudType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CloudType::Community => "COMMUNITY",
            CloudType::Secure => "SECURE",
        })
    }
}

/// Whether an API error message says there is no capacity for the request ("There are no
/// longer any instances available with the requested specifications…", "There are not enough
/// free GPUs on the host machine…", REST v2's placement failures).
pub fn is_capacity_message(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "no longer any instances",
        "not enough free gpus",
        "no instances",
        "could not be placed",
        "no capacity",
        "insufficient capacity",
        "out of capacity",
    ]
    .iter()
    .any(|p| m.contains(p))
}

/// The operations mh-train uses. Both implementations are blocking and `Send + Sync`.
pub trait PodApi: Send + Sync {
    fn kind(&self) -> ApiKind;
    /// GPU types with prices and stock for one GPU.
    fn gpu_types(&self) -> Result<Vec<GpuType>, ApiError>;
    /// Create a pod (on demand, or spot when `bid_per_gpu` is set); returns its id.
    fn create_pod(&self, req: &CreatePod) -> Result<String, ApiError>;
    /// The pod, or `NotFound`.
    fn pod(&self, id: &str) -> Result<Pod, ApiError>;
    fn stop_pod(&self, id: &str) -> Result<(), ApiError>;
    fn terminate_pod(&self, id: &str) -> Result<(), ApiError>;
    /// Every pod of the account.
    fn list_pods(&self) -> Result<Vec<Pod>, ApiError>;
}

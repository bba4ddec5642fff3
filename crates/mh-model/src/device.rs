//! Where a model runs: the `--device cpu|cuda|cuda:N|auto` choice, the dtype the frozen base
//! weights take there, and what the machine's GPUs are.
//!
//! * [`DeviceChoice`] parses the user's choice; [`select`] turns it into a candle [`Device`] and
//!   the compute dtype of the base weights ([`Selected`]): f32 on the CPU (candle's CPU matmul
//!   has no bf16 kernel), bf16 on CUDA (f16 on GPUs older than compute capability 8.0, which
//!   have no bf16 arithmetic). LoRA parameters and the optimizer state stay f32 everywhere
//!   ([`crate::lora::lora_dtype`]). `auto` takes GPU 0 when this build has the `cuda` feature
//!   and a GPU can be opened, else the CPU; asking for `cuda` from a build without the feature
//!   is an error that says how to rebuild.
//! * [`probe`] lists the GPUs the CUDA driver reports (name, memory, compute capability, driver
//!   version) or says plainly why none is usable. It goes through cudarc's driver API: in CPU
//!   builds cudarc loads `libcuda` at run time (`dynamic-loading`), so the probe works with no
//!   CUDA installed at all and still sees GPUs a CUDA build could use; with the `cuda` feature
//!   candle links `libcuda` (`dynamic-linking`) and the probe uses the same calls.

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::str::FromStr;

use candle_core::{DType, Device};
use serde::Serialize;

use crate::lora::lora_dtype;

/// Whether this build has candle's CUDA backend (the `cuda` cargo feature).
pub const CUDA_BUILT: bool = cfg!(feature = "cuda");

/// What the user asked for with `--device`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    Cpu,
    /// A CUDA GPU by ordinal (`cuda` is `cuda:0`).
    Cuda(usize),
    /// The first usable GPU, else the CPU.
    #[default]
    Auto,
}

impl FromStr for DeviceChoice {
    type Err = DeviceError;

    fn from_str(input: &str) -> Result<Self, DeviceError> {
        let text = input.trim().to_ascii_lowercase();
        let bad = || DeviceError::Parse {
            input: input.to_string(),
        };
        match text.as_str() {
            "cpu" => Ok(DeviceChoice::Cpu),
            "auto" => Ok(DeviceChoice::Auto),
            "cuda" | "gpu" => Ok(DeviceChoice::Cuda(0)),
            _ => {
                let ordinal = text
                    .strip_prefix("cuda:")
                    .or_else(|| text.strip_prefix("gpu:"))
                    .ok_or_else(bad)?;
                // Only plain decimal digits: no sign, no spaces, no `0x`.
                if ordinal.is_empty() || !ordinal.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad());
                }
                ordinal.parse().map(DeviceChoice::Cuda).map_err(|_| bad())
            }
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceChoice::Cpu => f.write_str("cpu"),
            DeviceChoice::Cuda(n) => write!(f, "cuda:{n}"),
            DeviceChoice::Auto => f.write_str("auto"),
        }
    }
}

/// Why a device choice cannot be honoured.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("unknown device `{input}`: expected cpu, cuda, cuda:N or auto")]
    Parse { input: String },
    #[error(
        "--device {requested} needs CUDA, but this mh-train was built without it: rebuild with \
         `cargo build --release --features cuda` (needs the CUDA toolkit's nvcc; see scripts/cuda-check.sh)"
    )]
    NotBuilt { requested: DeviceChoice },
    #[error("--device {requested}: no GPU is usable: {reason}")]
    NoGpu {
        requested: DeviceChoice,
        reason: String,
    },
    #[error("--device {requested}: there is no GPU {ordinal}; the driver reports {count} (cuda:0 to cuda:{last})", last = count.saturating_sub(1))]
    NoSuchGpu {
        requested: DeviceChoice,
        ordinal: usize,
        count: usize,
    },
    #[error("could not open CUDA device {ordinal}: {reason}")]
    Open { ordinal: usize, reason: String },
}

/// One GPU as the CUDA driver reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GpuInfo {
    pub ordinal: usize,
    pub name: String,
    pub total_memory_bytes: u64,
    /// `(major, minor)`, e.g. `(9, 0)` for an H100.
    pub compute_capability: (u32, u32),
}

impl GpuInfo {
    /// The dtype frozen base weights take on this GPU: bf16 from compute capability 8.0
    /// (Ampere) on, f16 before (no bf16 arithmetic there).
    pub fn base_dtype(&self) -> DType {
        if self.compute_capability.0 >= 8 {
            DType::BF16
        } else {
            DType::F16
        }
    }
}

impl fmt::Display for GpuInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (major, minor) = self.compute_capability;
        write!(
            f,
            "cuda:{} {} ({:.1} GiB, compute capability {major}.{minor})",
            self.ordinal,
            self.name,
            self.total_memory_bytes as f64 / (1u64 << 30) as f64
        )
    }
}

/// Why the machine offers no GPU, independently of how this binary was built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoGpu {
    /// `libcuda` (the NVIDIA driver's library) could not be loaded.
    NoDriver,
    /// The driver loaded but reports no device (`CUDA_ERROR_NO_DEVICE` or a count of zero).
    NoDevice,
    /// A driver call failed; the text names the call and the driver's error.
    DriverFailed(String),
}

impl fmt::Display for NoGpu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoGpu::NoDriver => f.write_str(
                "no NVIDIA driver: the CUDA driver library (libcuda.so) could not be loaded",
            ),
            NoGpu::NoDevice => f.write_str("the NVIDIA driver reports no CUDA device"),
            NoGpu::DriverFailed(what) => write!(f, "the NVIDIA driver failed: {what}"),
        }
    }
}

/// What [`probe`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpuProbe {
    /// Whether this binary has the `cuda` feature ([`CUDA_BUILT`]).
    pub cuda_built: bool,
    /// The driver's CUDA version (e.g. `"13.0"`) when the driver library loaded.
    pub driver_version: Option<String>,
    /// Every GPU the driver reports, whether or not this build can use it.
    pub gpus: Vec<GpuInfo>,
    /// Why the machine has no GPU; `None` when `gpus` is non-empty.
    pub missing: Option<NoGpu>,
}

impl GpuProbe {
    /// Whether `auto` can run on a GPU: this build has CUDA and the driver reports one.
    pub fn usable(&self) -> bool {
        self.cuda_built && !self.gpus.is_empty()
    }

    /// The plain reason no GPU is usable, or `None` when one is.
    pub fn unusable_reason(&self) -> Option<String> {
        const REBUILD: &str = "this build has no CUDA support (rebuild with `--features cuda`)";
        match (&self.missing, self.cuda_built) {
            (Some(missing), true) => Some(missing.to_string()),
            (Some(missing), false) => Some(format!("{missing}; {REBUILD}")),
            (None, true) if self.gpus.is_empty() => Some(NoGpu::NoDevice.to_string()),
            (None, true) => None,
            (None, false) => Some(format!("{} GPU(s) found, but {REBUILD}", self.gpus.len())),
        }
    }
}

impl Serialize for GpuProbe {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct View<'a> {
            cuda_built: bool,
            driver_version: Option<&'a str>,
            gpus: &'a [GpuInfo],
            usable: bool,
            reason: Option<String>,
        }
        View {
            cuda_built: self.cuda_built,
            driver_version: self.driver_version.as_deref(),
            gpus: &self.gpus,
            usable: self.usable(),
            reason: self.unusable_reason(),
        }
        .serialize(serializer)
    }
}

/// Asks the CUDA driver which GPUs there are. Never panics: a missing driver library, a driver
/// error or a panic inside cudarc all become [`GpuProbe::missing`].
pub fn probe() -> GpuProbe {
    let mut probe = GpuProbe {
        cuda_built: CUDA_BUILT,
        driver_version: None,
        gpus: Vec::new(),
        missing: None,
    };
    // In CPU builds cudarc loads libcuda on first use and panics when it is absent, so look
    // first. (CUDA builds link libcuda: if this code runs at all, the library is there.)
    #[cfg(not(feature = "cuda"))]
    {
        // SAFETY: only tries to dlopen the driver library by its usual names.
        if !unsafe { cudarc::driver::sys::is_culib_present() } {
            probe.missing = Some(NoGpu::NoDriver);
            return probe;
        }
    }
    match catch_unwind(AssertUnwindSafe(query_driver)) {
        Ok((version, Ok(gpus))) => {
            probe.driver_version = version;
            if gpus.is_empty() {
                probe.missing = Some(NoGpu::NoDevice);
            }
            probe.gpus = gpus;
        }
        Ok((version, Err(missing))) => {
            probe.driver_version = version;
            probe.missing = Some(missing);
        }
        Err(panic) => {
            probe.missing = Some(NoGpu::DriverFailed(format!(
                "the CUDA bindings panicked: {}",
                panic_text(&*panic)
            )));
        }
    }
    probe
}

/// The driver queries behind [`probe`]: the driver version, then every device.
fn query_driver() -> (Option<String>, Result<Vec<GpuInfo>, NoGpu>) {
    use cudarc::driver::{result, sys};

    let mut raw_version = 0;
    // SAFETY: cuDriverGetVersion writes one int and needs no prior cuInit.
    let version = unsafe { sys::cuDriverGetVersion(&mut raw_version) }
        .result()
        .ok()
        .map(|()| format!("{}.{}", raw_version / 1000, (raw_version % 1000) / 10));

    let failed = |call: &str, err: result::DriverError| {
        if err.0 == sys::CUresult::CUDA_ERROR_NO_DEVICE {
            NoGpu::NoDevice
        } else {
            NoGpu::DriverFailed(format!("{call}: {}", driver_error_text(err)))
        }
    };
    let gpus = (|| {
        result::init().map_err(|e| failed("cuInit", e))?;
        let count = result::device::get_count().map_err(|e| failed("cuDeviceGetCount", e))?;
        let mut gpus = Vec::new();
        for ordinal in 0..count.max(0) {
            let dev = result::device::get(ordinal).map_err(|e| failed("cuDeviceGet", e))?;
            let name = result::device::get_name(dev).map_err(|e| failed("cuDeviceGetName", e))?;
            // SAFETY: `dev` came from cuDeviceGet above.
            let total = unsafe { result::device::total_mem(dev) }
                .map_err(|e| failed("cuDeviceTotalMem", e))?;
            let attr = |a| {
                // SAFETY: `dev` came from cuDeviceGet above.
                unsafe { result::device::get_attribute(dev, a) }
                    .map_err(|e| failed("cuDeviceGetAttribute", e))
            };
            let major =
                attr(sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)?;
            let minor =
                attr(sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)?;
            gpus.push(GpuInfo {
                ordinal: ordinal as usize,
                name,
                total_memory_bytes: total as u64,
                compute_capability: (major.max(0) as u32, minor.max(0) as u32),
            });
        }
        Ok(gpus)
    })();
    (version, gpus)
}

fn driver_error_text(err: cudarc::driver::result::DriverError) -> String {
    let name = err
        .error_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|_| format!("{:?}", err.0));
    match err.error_string() {
        Ok(text) => format!("{name} ({})", text.to_string_lossy()),
        Err(_) => name,
    }
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}

/// Where the model runs and in which dtype.
#[derive(Debug, Clone)]
pub struct Selected {
    pub device: Device,
    /// The dtype frozen base weights are converted to ([`crate::LoadOptions::dtype`]).
    pub compute_dtype: DType,
    /// The GPU, when `device` is one.
    pub gpu: Option<GpuInfo>,
    /// Why `auto` settled for the CPU, when it did.
    pub cpu_because: Option<String>,
}

impl Selected {
    fn cpu(because: Option<String>) -> Selected {
        Selected {
            device: Device::Cpu,
            compute_dtype: DType::F32,
            gpu: None,
            cpu_because: because,
        }
    }

    /// Options to load a base model (no LoRA) onto this device in its compute dtype.
    pub fn load_options(&self) -> crate::LoadOptions {
        crate::LoadOptions {
            device: self.device.clone(),
            dtype: self.compute_dtype,
            lora: None,
        }
    }

    /// The dtype LoRA parameters (and so the optimizer state) live in.
    pub fn lora_dtype(&self) -> DType {
        lora_dtype(self.compute_dtype)
    }

    /// One line for logs and `doctor`, e.g. `cpu (base weights f32, LoRA f32)`.
    pub fn summary(&self) -> String {
        let place = match &self.gpu {
            Some(gpu) => gpu.to_string(),
            None => "cpu".to_string(),
        };
        format!(
            "{place} (base weights {}, LoRA {})",
            self.compute_dtype.as_str(),
            self.lora_dtype().as_str()
        )
    }
}

/// Opens the device `choice` names. Probes the GPUs unless `choice` is [`DeviceChoice::Cpu`].
pub fn select(choice: DeviceChoice) -> Result<Selected, DeviceError> {
    if choice == DeviceChoice::Cpu {
        return Ok(Selected::cpu(None));
    }
    select_with(choice, &probe())
}

/// [`select`] with a probe already made (so `doctor` reports and selects from one probe).
pub fn select_with(choice: DeviceChoice, probe: &GpuProbe) -> Result<Selected, DeviceError> {
    match plan(choice, probe)? {
        Plan::Cpu(because) => Ok(Selected::cpu(because)),
        Plan::Gpu(gpu) => match open_cuda(&gpu) {
            Ok(selected) => Ok(selected),
            // `auto` means "a GPU if one works": one that cannot be opened sends it to the CPU.
            Err(err) if choice == DeviceChoice::Auto => Ok(Selected::cpu(Some(err.to_string()))),
            Err(err) => Err(err),
        },
    }
}

/// What [`select_with`] will do, decided from the probe alone (no device is opened).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// The CPU; for `auto`, why no GPU was taken.
    Cpu(Option<String>),
    Gpu(GpuInfo),
}

/// Decides from the probe which device `choice` means, or why it cannot be had.
pub fn plan(choice: DeviceChoice, probe: &GpuProbe) -> Result<Plan, DeviceError> {
    match choice {
        DeviceChoice::Cpu => Ok(Plan::Cpu(None)),
        DeviceChoice::Auto => match probe.unusable_reason() {
            None => Ok(Plan::Gpu(probe.gpus[0].clone())),
            Some(reason) => Ok(Plan::Cpu(Some(reason))),
        },
        DeviceChoice::Cuda(ordinal) => {
            if !probe.cuda_built {
                return Err(DeviceError::NotBuilt { requested: choice });
            }
            if let Some(reason) = probe.unusable_reason() {
                return Err(DeviceError::NoGpu {
                    requested: choice,
                    reason,
                });
            }
            probe
                .gpus
                .iter()
                .find(|gpu| gpu.ordinal == ordinal)
                .cloned()
                .map(Plan::Gpu)
                .ok_or(DeviceError::NoSuchGpu {
                    requested: choice,
                    ordinal,
                    count: probe.gpus.len(),
                })
        }
    }
}

fn open_cuda(gpu: &GpuInfo) -> Result<Selected, DeviceError> {
    let ordinal = gpu.ordinal;
    let opened = catch_unwind(|| Device::new_cuda(ordinal)).map_err(|panic| DeviceError::Open {
        ordinal,
        reason: format!("the CUDA bindings panicked: {}", panic_text(&*panic)),
    })?;
    let device = opened.map_err(|err| DeviceError::Open {
        ordinal,
        reason: err.to_string(),
    })?;
    Ok(Selected {
        device,
        compute_dtype: gpu.base_dtype(),
        gpu: Some(gpu.clone()),
        cpu_because: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gpu(ordinal: usize, cc: (u32, u32)) -> GpuInfo {
        GpuInfo {
            ordinal,
            name: format!("Test GPU {ordinal}"),
            total_memory_bytes: 80 << 30,
            compute_capability: cc,
        }
    }

    fn probe_of(cuda_built: bool, gpus: Vec<GpuInfo>, missing: Option<NoGpu>) -> GpuProbe {
        GpuProbe {
            cuda_built,
            driver_version: Some("13.0".into()),
            gpus,
            missing,
        }
    }

    #[test]
    fn parses_every_spelling() {
        let ok = [
            ("cpu", DeviceChoice::Cpu),
            ("CPU", DeviceChoice::Cpu),
            (" auto ", DeviceChoice::Auto),
            ("cuda", DeviceChoice::Cuda(0)),
            ("gpu", DeviceChoice::Cuda(0)),
            ("cuda:0", DeviceChoice::Cuda(0)),
            ("cuda:3", DeviceChoice::Cuda(3)),
            ("CUDA:12", DeviceChoice::Cuda(12)),
        ];
        for (text, want) in ok {
            assert_eq!(text.parse::<DeviceChoice>().unwrap(), want, "{text:?}");
        }
        for bad in [
            "",
            "gpu0",
            "cuda:",
            "cuda:-1",
            "cuda:+1",
            "cuda: 1",
            "cuda:x",
            "metal",
            "cuda:99999999999999999999",
        ] {
            let err = bad.parse::<DeviceChoice>().unwrap_err();
            assert!(
                matches!(&err, DeviceError::Parse { input } if input == bad),
                "{bad:?} gave {err:?}"
            );
            assert!(err
                .to_string()
                .contains("expected cpu, cuda, cuda:N or auto"));
        }
    }

    #[test]
    fn display_round_trips() {
        for choice in [
            DeviceChoice::Cpu,
            DeviceChoice::Auto,
            DeviceChoice::Cuda(0),
            DeviceChoice::Cuda(7),
        ] {
            assert_eq!(choice.to_string().parse::<DeviceChoice>().unwrap(), choice);
        }
        assert_eq!(DeviceChoice::default(), DeviceChoice::Auto);
    }

    #[test]
    fn base_dtype_is_bf16_from_ampere_on() {
        assert_eq!(gpu(0, (9, 0)).base_dtype(), DType::BF16);
        assert_eq!(gpu(0, (8, 0)).base_dtype(), DType::BF16);
        assert_eq!(gpu(0, (7, 5)).base_dtype(), DType::F16);
    }

    #[test]
    fn auto_takes_gpu_zero_only_when_cuda_is_built_and_a_gpu_exists() {
        let both = probe_of(true, vec![gpu(0, (9, 0)), gpu(1, (8, 6))], None);
        assert_eq!(
            plan(DeviceChoice::Auto, &both).unwrap(),
            Plan::Gpu(gpu(0, (9, 0)))
        );
        assert_eq!(
            plan(DeviceChoice::Cuda(1), &both).unwrap(),
            Plan::Gpu(gpu(1, (8, 6)))
        );

        let not_built = probe_of(false, vec![gpu(0, (9, 0))], None);
        match plan(DeviceChoice::Auto, &not_built).unwrap() {
            Plan::Cpu(Some(why)) => {
                assert!(why.contains("1 GPU(s) found"), "{why}");
                assert!(why.contains("--features cuda"), "{why}");
            }
            other => panic!("{other:?}"),
        }

        let no_driver = probe_of(true, vec![], Some(NoGpu::NoDriver));
        match plan(DeviceChoice::Auto, &no_driver).unwrap() {
            Plan::Cpu(Some(why)) => assert!(why.contains("libcuda.so"), "{why}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(plan(DeviceChoice::Cpu, &both).unwrap(), Plan::Cpu(None));
    }

    #[test]
    fn explicit_cuda_errors_say_what_is_missing() {
        let not_built = probe_of(false, vec![gpu(0, (9, 0))], None);
        let err = plan(DeviceChoice::Cuda(0), &not_built).unwrap_err();
        assert!(matches!(err, DeviceError::NotBuilt { .. }), "{err:?}");
        assert!(err.to_string().contains("--features cuda"), "{err}");

        let no_device = probe_of(true, vec![], Some(NoGpu::NoDevice));
        let err = plan(DeviceChoice::Cuda(0), &no_device).unwrap_err();
        assert!(matches!(err, DeviceError::NoGpu { .. }), "{err:?}");
        assert!(err.to_string().contains("reports no CUDA device"), "{err}");

        let one = probe_of(true, vec![gpu(0, (9, 0))], None);
        let err = plan(DeviceChoice::Cuda(2), &one).unwrap_err();
        assert!(
            matches!(
                err,
                DeviceError::NoSuchGpu {
                    ordinal: 2,
                    count: 1,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("cuda:0 to cuda:0"), "{err}");
    }

    #[test]
    fn probe_serializes_its_verdict() {
        let json = serde_json::to_value(probe_of(false, vec![], Some(NoGpu::NoDriver))).unwrap();
        assert_eq!(json["cuda_built"], false);
        assert_eq!(json["usable"], false);
        assert_eq!(json["gpus"], serde_json::json!([]));
        let reason = json["reason"].as_str().unwrap();
        assert!(
            reason.contains("libcuda.so") && reason.contains("--features cuda"),
            "{reason}"
        );

        let json = serde_json::to_value(probe_of(true, vec![gpu(0, (9, 0))], None)).unwrap();
        assert_eq!(json["usable"], true);
        assert_eq!(json["reason"], serde_json::Value::Null);
        assert_eq!(
            json["gpus"][0]["compute_capability"],
            serde_json::json!([9, 0])
        );
        assert_eq!(json["gpus"][0]["total_memory_bytes"], 80u64 << 30);
    }

    /// The real probe on the machine running the tests. Where no NVIDIA driver is installed
    /// (this project's build machines and CI) it must say exactly that, and `auto` must pick
    /// the CPU; where one is, what it reports must be consistent.
    #[test]
    fn real_probe_is_consistent_and_auto_follows_it() {
        let found = probe();
        assert_eq!(found.cuda_built, CUDA_BUILT);
        assert_eq!(found.missing.is_none(), !found.gpus.is_empty(), "{found:?}");
        assert_eq!(
            found.usable(),
            found.unusable_reason().is_none(),
            "{found:?}"
        );
        if !driver_library_installed() {
            assert_eq!(found.missing, Some(NoGpu::NoDriver));
            assert!(found.gpus.is_empty() && found.driver_version.is_none());
            let reason = found.unusable_reason().unwrap();
            assert!(reason.starts_with("no NVIDIA driver"), "{reason}");
            assert!(
                reason.contains("(libcuda.so) could not be loaded"),
                "{reason}"
            );
        }
        let selected = select(DeviceChoice::Auto).unwrap();
        if found.usable() {
            assert!(selected.device.is_cuda() || selected.cpu_because.is_some());
        } else {
            assert!(selected.device.is_cpu());
            assert_eq!(selected.compute_dtype, DType::F32);
            assert_eq!(selected.lora_dtype(), DType::F32);
            assert_eq!(selected.cpu_because, found.unusable_reason());
            assert!(selected
                .summary()
                .starts_with("cpu (base weights f32, LoRA f32)"));
        }
    }

    /// Without the `cuda` feature: `auto` is always the CPU and `cuda` is the rebuild error,
    /// whatever GPUs the machine has.
    #[cfg(not(feature = "cuda"))]
    #[test]
    fn cpu_build_never_selects_a_gpu() {
        assert!(select(DeviceChoice::Auto).unwrap().device.is_cpu());
        let err = select(DeviceChoice::Cuda(0)).unwrap_err();
        assert!(matches!(err, DeviceError::NotBuilt { .. }), "{err:?}");
        assert!(err
            .to_string()
            .contains("cargo build --release --features cuda"));
        let cpu = select(DeviceChoice::Cpu).unwrap();
        assert!(cpu.device.is_cpu() && cpu.cpu_because.is_none());
    }

    /// Independent of cudarc: can the dynamic loader find the driver library?
    fn driver_library_installed() -> bool {
        [c"libcuda.so.1", c"libcuda.so"].iter().any(|name| {
            // SAFETY: dlopen with a NUL-terminated name; the handle is closed right away.
            unsafe {
                let handle = libc::dlopen(name.as_ptr(), libc::RTLD_LAZY | libc::RTLD_LOCAL);
                if handle.is_null() {
                    false
                } else {
                    libc::dlclose(handle);
                    true
                }
            }
        })
    }
}

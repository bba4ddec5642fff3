//! `--base-model` and `--device`, shared by the commands that run a model.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use mh_model::device::{self, DeviceChoice, Selected};
use mh_model::Model;

use super::note;
use crate::progress::Bars;
use crate::Global;

#[derive(Args, Clone)]
pub struct BaseModelArgs {
    /// Base model: a directory in Hugging Face layout, or a hub id (owner/name[@revision]),
    /// fetched into the Hugging Face cache (HF_HOME / HF_HUB_CACHE; HF_ENDPOINT, HF_TOKEN and
    /// HF_HUB_OFFLINE are honoured)
    #[arg(long, value_name = "DIR|HF_ID")]
    pub base_model: String,
    /// cpu, cuda, cuda:N or auto (a usable GPU, else the CPU)
    #[arg(long, default_value = "auto")]
    pub device: String,
}

/// A base model resolved, its device chosen and its weights loaded.
pub struct LoadedBase {
    pub model: Model,
    pub dir: PathBuf,
    pub selected: Selected,
}

impl BaseModelArgs {
    pub fn load(&self, g: &Global) -> Result<LoadedBase> {
        let choice: DeviceChoice = self.device.parse().context("--device")?;
        let selected = device::select(choice).context("--device")?;
        if let Some(why) = &selected.cpu_because {
            if choice == DeviceChoice::Auto && g.verbose {
                note(g, &format!("device: cpu ({why})"));
            }
        }
        let resolved = mh_hub::resolve_model(
            &self.base_model,
            &mh_hub::HubOptions::from_env(),
            &Bars::new(g.quiet || g.json),
        )
        .with_context(|| format!("--base-model {}", self.base_model))?;
        if let Some(notice) = resolved.notice() {
            note(g, &format!("note: {notice}"));
        }
        let model = Model::load(&resolved.dir, &selected.load_options())
            .with_context(|| format!("loading the model in {}", resolved.dir.display()))?;
        Ok(LoadedBase {
            model,
            dir: resolved.dir,
            selected,
        })
    }
}

/// Put the PEFT adapter in `dir` onto `model`.
pub fn apply_adapter(model: &mut Model, dir: &std::path::Path) -> Result<()> {
    let adapter = mh_model::read_peft_adapter(dir, model.device())
        .with_context(|| format!("--adapter {}", dir.display()))?;
    model
        .apply_peft_adapter(&adapter)
        .with_context(|| format!("--adapter {}", dir.display()))
}

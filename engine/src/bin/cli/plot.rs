//! `ufm plot`.

use crate::Failure;
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct PlotArgs {
    /// A run folder (result.json, curve.csv) or a sweep folder (summary.json).
    dir: PathBuf,
    /// Where to write the SVG and PNG files (default: DIR/plots).
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn plot(a: PlotArgs) -> Result<(), Failure> {
    if !a.dir.is_dir() {
        return Err(Failure::Input(format!(
            "DIR: {} is not a folder",
            a.dir.display()
        )));
    }
    let files = ufm::plot::plot_dir(&a.dir, a.out.as_deref())?;
    for f in files {
        println!("written     {}", f.display());
    }
    // A sweep: the same warning as its table when some runs did not converge (the plots' titles
    // say it too).
    let summary = std::fs::read_to_string(a.dir.join("summary.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<ufm::sweep::Summary>(&t).ok());
    if let Some(w) = summary
        .as_ref()
        .and_then(super::sweep::not_converged_warning)
    {
        println!("{w}");
    }
    Ok(())
}

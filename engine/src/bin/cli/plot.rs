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
    let files = ufm::plot::plot_dir(&a.dir, a.out.as_deref()).map_err(Failure::Input)?;
    for f in files {
        println!("written     {}", f.display());
    }
    Ok(())
}

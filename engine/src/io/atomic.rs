//! Atomic writes: a file or a folder is written under a temporary name and renamed into place,
//! so a killed process never leaves a half-written result, summary or checkpoint behind.

use std::io::Write;
use std::path::Path;

/// Write `bytes` to `path` atomically (temporary file in the same folder, then rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!(
        "{}.tmp{}",
        path.extension().and_then(|e| e.to_str()).unwrap_or(""),
        std::process::id()
    ));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

/// Replace the folder `dir` by one holding `files` (name, bytes), atomically: the files are
/// written into a sibling temporary folder, which is renamed into place (the previous folder,
/// if any, is moved aside first and removed after). Used by checkpoints, whose files must
/// always belong to the same step.
pub fn replace_dir(dir: &Path, files: &[(&str, &[u8])]) -> std::io::Result<()> {
    let parent = dir.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("checkpoint");
    let tmp = parent.join(format!("{name}.tmp{}", std::process::id()));
    let old = parent.join(format!("{name}.old{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp)?;
    for (file, bytes) in files {
        write_atomic(&tmp.join(file), bytes)?;
    }
    if dir.exists() {
        std::fs::rename(dir, &old)?;
    }
    std::fs::rename(&tmp, dir)?;
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
}

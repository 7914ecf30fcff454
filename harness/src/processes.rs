//! Child processes of a run: finding the sibling binaries and collecting what each child said.

use std::path::PathBuf;

/// The path of `name`, an adstream binary built next to the running one.
pub fn sibling_binary(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .ok_or_else(|| anyhow::anyhow!("no directory for {}", exe.display()))?;
    let path = dir.join(name);
    anyhow::ensure!(
        path.is_file(),
        "the `{name}` binary is not next to {} — build the whole workspace (`cargo build --release`)",
        exe.display()
    );
    Ok(path)
}

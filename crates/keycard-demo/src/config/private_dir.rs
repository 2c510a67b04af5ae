//! The directory the demo keeps its local files in (the SQLite database, the development secret).

use std::path::Path;

/// Create `dir` (and its parents) if missing. A directory created here gets mode 0700 and a `.gitignore`
/// holding `*`, so the database and the development secret never end up in a commit.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)?;
    std::fs::write(
        dir.join(".gitignore"),
        "# Created by keycard-demo: local database and development secret.\n*\n",
    )
}

use std::path::PathBuf;

/// A directory of a test's own under the system's temporary directory, removed when dropped:
/// `sessions-{name}-{pid}`, so that test binaries running side by side never share one.
#[derive(Debug)]
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// The directory's path, cleared of what an earlier run of the same test left; not made, so
    /// that a store under test makes it as it would in production.
    pub fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("sessions-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        Self(path)
    }

    /// The directory, made and empty.
    pub fn made(name: &str) -> Self {
        let dir = Self::new(name);
        std::fs::create_dir_all(&dir.0).expect("the test's directory");
        dir
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

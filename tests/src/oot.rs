//! The out-of-tree example driver built as a third party builds it: a copy of
//! `examples/out-of-tree-driver` outside the repository, with the command
//! `docs/driver-guide.md` gives (its crates.io dependency on rvirt-plugin-api patched to
//! this checkout).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{repo_root, TempDir};

/// Copies the example to a directory outside the repository, builds it there (its own
/// target directory: the abi_compat tests load the in-tree build from target/ext), and
/// answers a copy of the module file in `keep`. Panics with cargo's output when it does
/// not build. The copy's place is fixed and files are rewritten only when they differ, so
/// tests building it at once do not rebuild (and relink) it under each other.
pub fn build_example_copy(keep: &TempDir) -> PathBuf {
    let copy = std::env::temp_dir().join("rvirt-out-of-tree-example");
    assert!(
        !copy.starts_with(repo_root()),
        "the copy must be outside the repository"
    );
    copy_example(&copy);
    let target = repo_root().join("target/ext-copy");
    let patch = format!(
        "patch.crates-io.rvirt-plugin-api.path=\"{}\"",
        repo_root().join("plugin-api").display()
    );
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--quiet", "--release", "--config", &patch])
        .arg("--target-dir")
        .arg(&target)
        .current_dir(&copy)
        .output()
        .expect("run cargo");
    assert!(
        out.status.success(),
        "the copied example does not build:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let so = keep.0.join("librvirt_driver_hello.so");
    std::fs::copy(target.join("release/librvirt_driver_hello.so"), &so).expect("copy module");
    so
}

fn copy_example(to: &Path) {
    let from = repo_root().join("examples/out-of-tree-driver");
    for f in ["Cargo.toml", "Cargo.lock", "README.md", "src/lib.rs"] {
        let dest = to.join(f);
        std::fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
        let text = std::fs::read(from.join(f)).unwrap_or_else(|e| panic!("read {f}: {e}"));
        if std::fs::read(&dest).ok().as_ref() != Some(&text) {
            std::fs::write(&dest, text).unwrap_or_else(|e| panic!("copy {f}: {e}"));
        }
    }
}

//! Helpers shared by the end-to-end tests of the `qraft` binary.
#![allow(dead_code, reason = "each test file uses its own subset")]

pub mod classroom;
pub mod lan;
pub mod processes;
pub mod tmux;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;

/// Stdout of a run that must succeed.
pub fn success(output: Output) -> String {
    assert!(
        output.status.success(),
        "qraft failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("stdout is UTF-8")
}

/// Stderr of a run that must fail.
pub fn failure(output: Output) -> String {
    assert!(
        !output.status.success(),
        "qraft succeeded but should not have; stdout: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8(output.stderr).expect("stderr is UTF-8")
}

pub fn arg(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

/// The permission bits of a file.
pub fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

//! The layering of ARCHITECTURE.md, checked: the protocol crate depends on
//! nothing that does IO.

use std::process::Command;

#[test]
fn protocol_crate_has_no_io_dependencies() {
    let workspace = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let out = Command::new(env!("CARGO"))
        .current_dir(workspace)
        .args([
            "tree",
            "--offline",
            "-p",
            "protocol",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .output()
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8(out.stdout).expect("utf-8");
    let forbidden = [
        "tokio",
        "mio",
        "socket2",
        "sqlx",
        "libsqlite3-sys",
        "axum",
        "hyper",
        "tower",
        "reqwest",
        "getrandom",
        "rand",
        "minijinja",
        "async-trait",
        "futures",
        "service",
        "store",
        "web",
    ];
    let crates: Vec<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(
        crates.contains(&"protocol"),
        "cargo tree listed the crate: {tree}"
    );
    for name in crates {
        let base = name.split('-').next().unwrap_or(name);
        assert!(
            !forbidden.contains(&name) && !forbidden.contains(&base),
            "the protocol crate must not depend on {name}"
        );
    }
}

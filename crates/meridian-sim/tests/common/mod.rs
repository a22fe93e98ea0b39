//! Helpers shared by tests that need third-party tools.

/// Whether `tool` can run. When it cannot: with `MERIDIAN_REQUIRE_PEERS=1` (set by `.ci/run`)
/// the test fails; otherwise it is skipped with a visible message.
#[allow(unreachable_pub)]
pub fn tool_available(tool: &str) -> bool {
    let ok = std::process::Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var("MERIDIAN_REQUIRE_PEERS").is_ok_and(|v| v == "1") {
            panic!("{tool} is required (MERIDIAN_REQUIRE_PEERS=1) but cannot be run");
        }
        eprintln!(
            "SKIPPED: {tool} is not installed; set MERIDIAN_REQUIRE_PEERS=1 to make this a failure"
        );
    }
    ok
}

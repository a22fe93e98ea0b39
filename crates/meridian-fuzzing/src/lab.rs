//! The lab target: a `topology.toml` over the server-and-client example's three devices. A
//! topology is checked; one that passes is built and run for up to 20 simulated seconds. No
//! input may panic or run unbounded (libFuzzer's timeout and the lab's per-second event bound
//! catch a hang).

use std::sync::OnceLock;

use meridian_lab::devices::check;
use meridian_lab::{Device, Topology};
use meridian_sim::metrics::summarize;

/// The example's devices, loaded once.
fn devices() -> &'static [Device] {
    static DEVICES: OnceLock<Vec<Device>> = OnceLock::new();
    DEVICES.get_or_init(|| {
        let license = Some(("license.txt", "clock-synchronization\n"));
        [
            (
                "Grandmaster",
                include_str!("../../../examples/server-and-client/Grandmaster.cfg"),
            ),
            (
                "Boundary",
                include_str!("../../../examples/server-and-client/Boundary.cfg"),
            ),
            (
                "Client",
                include_str!("../../../examples/server-and-client/Client.cfg"),
            ),
        ]
        .iter()
        .map(
            |(name, text)| match Device::load(name, name, text, license) {
                Ok(d) => d,
                Err(e) => panic!("the example does not load: {e}"),
            },
        )
        .collect()
    })
}

/// The longest a fuzzed topology runs, simulated seconds.
const RUN: i64 = 20;

/// A topology file: checked; if valid, built and run; errors must be one line.
pub fn topology(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let devices = devices();
    let verdict = Topology::parse("topology.toml", text)
        .and_then(|t| check(&t, "topology.toml", text, devices).map(|()| t));
    let topo = match verdict {
        Ok(t) => t,
        Err(e) => {
            assert!(!e.to_string().contains('\n'), "a multi-line error: {e}");
            return;
        }
    };
    let mut lab = meridian_lab::build(&topo, devices, topo.seed);
    let end = topo.duration().min(RUN);
    if lab.run_to(end).is_err() {
        return;
    }
    for node in lab.nodes.values() {
        let _ = summarize(lab.sim.samples(*node), meridian_lab::build::at(0));
    }
}

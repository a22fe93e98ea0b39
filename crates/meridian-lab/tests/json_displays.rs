//! `display … | json` on a running device is built from the engines' typed state: numbers in
//! SI units under unit-named keys, not display text parsed back.

use std::path::PathBuf;

use meridian_lab::devices::check;
use meridian_lab::{Topology, load_devices};
use meridian_vrp::device::DeviceEngine;
use meridian_vrp::session::Session;
use serde_json::Value;

#[test]
fn ptp_and_ntp_displays_as_typed_json() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/server-and-client");
    let text = std::fs::read_to_string(dir.join("topology.toml")).unwrap();
    let topo = Topology::parse("topology.toml", &text).unwrap();
    let devices = load_devices(&dir).unwrap();
    check(&topo, "topology.toml", &text, &devices).unwrap();
    let mut lab = meridian_lab::build(&topo, &devices, 7);
    lab.run_to(600).unwrap();
    let mut json = |device: &str, line: &str| -> Value {
        let config = lab.config(device).unwrap();
        let node = lab.nodes[device];
        let engine = lab.sim.engine_as_mut::<DeviceEngine>(node).unwrap();
        let out = Session::new(config).run_line(line, engine);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{line}: {e}: {out}"))
    };
    let b = json("Boundary", "display ptp-adaptive all | json");
    assert_eq!(b["role"], "server-and-client", "{b}");
    let c = &b["client"];
    assert_eq!(c["servo"]["state"], "locked", "{b}");
    assert_eq!(c["servo"]["steering"], true, "{b}");
    assert_eq!(c["trace_source"], "server1", "{b}");
    assert_eq!(c["servers"][0]["ip"], "1.1.1.1", "{b}");
    assert_eq!(c["servers"][0]["negotiation"], "Nego success", "{b}");
    let t21 = c["servers"][0]["t2_minus_t1_s"].as_f64().unwrap();
    assert!(t21.abs() < 1e-3, "{b}");
    assert!(
        c["servers"][0]["sync"]["received"].as_u64().unwrap() > 1000,
        "{b}"
    );
    assert_eq!(b["server"]["clients"][0]["ip"], "3.3.3.3", "{b}");
    assert_eq!(
        b["server"]["clients"][0]["grants"][1]["duration_s"], 300,
        "{b}"
    );
    let one = json("Client", "display ptp-adaptive server 1 | json");
    assert_eq!(one["servers"].as_array().unwrap().len(), 1, "{one}");
    assert_eq!(one["servers"][0]["steps_removed"], 1, "{one}");
    // No NTP on these devices: the display says so as text, converted.
    let none = json("Client", "display ntp-service status | json");
    assert!(none.is_array(), "{none}");
}

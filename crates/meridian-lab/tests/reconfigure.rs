//! A commit reconfigures running engines in place, as a router applies one: what it does not
//! touch keeps every bit of its state. The lab is deterministic, so "nothing changed" is shown
//! exactly: the run with the commit is bit-identical to the run without it.

use std::path::PathBuf;

use meridian_lab::devices::check;
use meridian_lab::{Device, Lab, Topology, load_devices};
use meridian_proto::event::{Event, GrantChange};
use meridian_proto::ntp_service::Reference;
use meridian_sim::metrics::TeSample;
use meridian_vrp::device::DeviceEngine;

fn example(name: &str) -> (Topology, Vec<Device>) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name);
    let text = std::fs::read_to_string(dir.join("topology.toml")).unwrap();
    let topo = Topology::parse("topology.toml", &text).unwrap();
    let devices = load_devices(&dir).unwrap();
    check(&topo, "topology.toml", &text, &devices).unwrap();
    (topo, devices)
}

fn lines(l: &[&str]) -> Vec<String> {
    l.iter().map(|s| (*s).to_string()).collect()
}

/// Every device's TE samples after running `example` to `end` with `commit` (device, lines)
/// at `at`; also whether the commit changed an engine.
fn run(
    example_name: &str,
    at: i64,
    end: i64,
    commit: Option<(&str, &[&str])>,
) -> (Vec<Vec<TeSample>>, bool) {
    let (topo, devices) = example(example_name);
    let mut lab = meridian_lab::build(&topo, &devices, 7);
    lab.run_to(at).unwrap();
    let changed = commit.is_some_and(|(d, l)| lab.commit(d, &lines(l), 99).unwrap());
    lab.run_to(end).unwrap();
    let samples = lab
        .nodes
        .values()
        .map(|n| lab.sim.samples(*n).to_vec())
        .collect();
    (samples, changed)
}

fn engine<'a>(lab: &'a Lab, device: &str) -> &'a DeviceEngine {
    lab.sim
        .engine_as::<DeviceEngine>(lab.nodes[device])
        .unwrap()
}

const UNUSED_ACL: &[&str] = &[
    "sysname Renamed",
    "acl number 2500",
    "rule 5 deny source 192.0.2.0 0.0.0.255",
    "quit",
];

#[test]
fn sysname_and_an_unused_acl_change_nothing_on_a_ptp_chain() {
    let (base, _) = run("server-and-client", 300, 600, None);
    for device in ["Client", "Boundary", "Grandmaster"] {
        let (with, changed) = run("server-and-client", 300, 600, Some((device, UNUSED_ACL)));
        assert!(!changed, "{device}: an engine was touched");
        assert!(with == base, "{device}: the run differs after the commit");
    }
}

#[test]
fn sysname_and_an_unused_acl_change_nothing_on_ntp_peers() {
    let (base, _) = run("ntp-peer-mode", 2000, 2600, None);
    for device in ["DeviceC", "DeviceD", "DeviceE"] {
        let (with, changed) = run("ntp-peer-mode", 2000, 2600, Some((device, UNUSED_ACL)));
        assert!(!changed, "{device}: an engine was touched");
        assert!(with == base, "{device}: the run differs after the commit");
    }
}

/// A server's client ACL that still permits its client is applied without touching the grant.
#[test]
fn a_permitting_client_acl_keeps_the_grant() {
    let permit = [
        "acl number 2001",
        "rule 5 permit source 2.2.2.2 0.0.0.0",
        "quit",
        "ptp-adaptive client-acl 2001",
    ];
    let (base, _) = run("server-and-client", 300, 600, None);
    let (with, changed) = run(
        "server-and-client",
        300,
        600,
        Some(("Grandmaster", &permit)),
    );
    assert!(changed, "the server's configuration changed");
    assert!(with == base, "the run differs: the grant was disturbed");
}

/// One that denies it cancels the grant on the wire at once: the client hears CANCEL and
/// stops being served without waiting for its grant to run out.
#[test]
fn a_denying_client_acl_cancels_the_grant_on_the_wire() {
    let (topo, devices) = example("server-and-client");
    let mut lab = meridian_lab::build(&topo, &devices, 7);
    lab.run_to(300).unwrap();
    let granted = |lab: &Lab| {
        let c = engine(lab, "Boundary")
            .ptp
            .as_ref()
            .unwrap()
            .client()
            .unwrap();
        c.servers()[0]
            .negotiations
            .iter()
            .filter(|n| n.is_granted())
            .count()
    };
    assert_eq!(granted(&lab), 3);
    lab.sim.record_events();
    let deny = [
        "acl number 2001",
        "rule 5 deny source 2.2.2.2 0.0.0.0",
        "quit",
        "ptp-adaptive client-acl 2001",
    ];
    assert!(lab.commit("Grandmaster", &lines(&deny), 1).unwrap());
    lab.run_to(301).unwrap();
    assert_eq!(granted(&lab), 0, "the client still believes it is granted");
    // The client reported each service's end as it heard the CANCEL: within a millisecond of
    // the commit, not at the next poll.
    let boundary = lab.nodes["Boundary"];
    let ended: Vec<_> = lab
        .sim
        .take_events()
        .into_iter()
        .filter(|(_, n, e)| {
            *n == boundary
                && matches!(
                    e,
                    Event::PtpGrant {
                        server: 0,
                        change: GrantChange::Ended,
                        ..
                    }
                )
        })
        .collect();
    assert_eq!(ended.len(), 3, "{ended:?}");
    for (when, _, _) in &ended {
        let after = (*when - meridian_lab::build::at(300)).as_secs_f64();
        assert!(
            (0.0..0.001).contains(&after),
            "reported {after} s after the commit"
        );
    }
    let server = engine(&lab, "Grandmaster")
        .ptp
        .as_ref()
        .unwrap()
        .server()
        .unwrap();
    assert_eq!(server.clients().count(), 0);
    // And it stays refused: its REQUESTs get no answer.
    lab.run_to(400).unwrap();
    assert_eq!(granted(&lab), 0);
}

/// Adding an NTP server keeps the association in use: same reach, counters running on, the
/// same system peer, no step.
#[test]
fn adding_an_ntp_server_keeps_the_association_in_use() {
    let (topo, devices) = example("ntp-peer-mode");
    let mut lab = meridian_lab::build(&topo, &devices, 7);
    lab.run_to(3000).unwrap();
    let before = engine(&lab, "DeviceD").ntp.as_ref().unwrap();
    let (count, peer) = (before.associations().len(), before.system().peer);
    let old = before.associations()[0].clone();
    assert_eq!(
        before.system().reference,
        Reference::Peer(old.config.address)
    );
    let add = ["ntp-service unicast-server 10.0.1.77"];
    assert!(lab.commit("DeviceD", &lines(&add), 1).unwrap());
    let after = engine(&lab, "DeviceD").ntp.as_ref().unwrap();
    assert_eq!(after.associations().len(), count + 1);
    let kept = &after.associations()[0];
    assert_eq!(
        (kept.reach, kept.counters, kept.poll),
        (old.reach, old.counters, old.poll)
    );
    assert_eq!(after.system().peer, peer);
    lab.run_to(3600).unwrap();
    let after = engine(&lab, "DeviceD").ntp.as_ref().unwrap();
    assert_eq!(
        after.system().reference,
        Reference::Peer(old.config.address)
    );
    assert!(after.associations()[0].counters.received > old.counters.received);
    let node = lab.nodes["DeviceD"];
    let te: Vec<f64> = lab
        .sim
        .samples(node)
        .iter()
        .filter(|s| s.at >= meridian_lab::build::at(3000))
        .map(|s| s.te.as_nanos_f64().abs())
        .collect();
    let worst = te.iter().copied().fold(0.0, f64::max);
    assert!(
        worst < 100_000.0,
        "|TE| reached {worst} ns after the commit"
    );
}

/// Removing the PTP client cancels its grants on the wire: the server frees its slot at once.
#[test]
fn removing_a_ptp_client_cancels_its_grants() {
    let (topo, devices) = example("server-and-client");
    let mut lab = meridian_lab::build(&topo, &devices, 7);
    lab.run_to(300).unwrap();
    let clients = |lab: &Lab| {
        engine(lab, "Boundary")
            .ptp
            .as_ref()
            .unwrap()
            .server()
            .unwrap()
            .clients()
            .count()
    };
    assert_eq!(clients(&lab), 1);
    assert!(
        lab.commit("Client", &lines(&["undo ptp-adaptive enable"]), 1)
            .unwrap()
    );
    assert!(engine(&lab, "Client").ptp.is_none());
    lab.run_to(301).unwrap();
    assert_eq!(
        clients(&lab),
        0,
        "the server still serves the removed client"
    );
}

/// A commit the device refuses changes nothing and says why.
#[test]
fn a_refused_commit_changes_nothing() {
    let (topo, devices) = example("server-and-client");
    let mut lab = meridian_lab::build(&topo, &devices, 7);
    lab.run_to(10).unwrap();
    let e = lab
        .commit("Client", &lines(&["ptp-adaptive domain 300"]), 1)
        .unwrap_err();
    assert!(e.contains("domain 300"), "{e}");
    let client = devices.iter().find(|d| d.name == "Client").unwrap();
    assert_eq!(lab.config("Client").unwrap(), client.config);
}

/// The client's state: servo state and since when, and how many of server1's services are
/// granted.
fn client_state(
    lab: &Lab,
    device: &str,
) -> (
    meridian_proto::servo::ServoState,
    meridian_proto::engine::Instant,
    usize,
) {
    let c = engine(lab, device).ptp.as_ref().unwrap().client().unwrap();
    let granted = c.servers()[0]
        .negotiations
        .iter()
        .filter(|n| n.is_granted())
        .count();
    (c.servo_state(), c.servo_state_since(), granted)
}

fn worst_te_after(lab: &Lab, device: &str, from: i64) -> f64 {
    lab.sim
        .samples(lab.nodes[device])
        .iter()
        .filter(|s| s.at >= meridian_lab::build::at(from))
        .map(|s| s.te.as_nanos_f64().abs())
        .fold(0.0, f64::max)
}

/// Adding a second server, a new Sync rate and a new DSCP on a locked client keep its servo
/// locked (same state since before), renegotiate the rate with its server at once, and
/// negotiate with the new server; TE stays within its noise.
#[test]
fn client_changes_keep_the_servo_locked() {
    let (topo, devices) = example("server-and-client");
    let mut lab = meridian_lab::build(&topo, &devices, 7);
    lab.run_to(600).unwrap();
    let (state, since, granted) = client_state(&lab, "Client");
    assert_eq!(
        (state, granted),
        (meridian_proto::servo::ServoState::Locked, 3)
    );
    let before = worst_te_after(&lab, "Client", 300);
    let change = [
        "ptp-adaptive remote-server2-ip 1.1.1.1",
        "ptp-adaptive request sync-interval 6",
        "ptp-adaptive dscp 46",
    ];
    assert!(lab.commit("Client", &lines(&change), 1).unwrap());
    lab.run_to(900).unwrap();
    let (state_after, since_after, granted) = client_state(&lab, "Client");
    assert_eq!((state_after, since_after, granted), (state, since, 3));
    let c = engine(&lab, "Client")
        .ptp
        .as_ref()
        .unwrap()
        .client()
        .unwrap();
    let sync = c.servers()[0].negotiations[meridian_proto::unicast::GrantedType::Sync as usize];
    assert_eq!(
        sync.granted_interval(),
        Some(meridian_proto::ptp::LogInterval(-4))
    );
    assert_eq!(c.servers()[1].addr, std::net::Ipv4Addr::new(1, 1, 1, 1));
    assert!(
        c.servers()[1].negotiations[0].is_granted(),
        "no Announce from the new server"
    );
    let after = worst_te_after(&lab, "Client", 600);
    assert!(
        after < before.max(100.0) * 2.0,
        "|TE| {after} ns after the commit, {before} ns before"
    );
}

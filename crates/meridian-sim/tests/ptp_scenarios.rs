//! The 1588 ATR/ACR scenarios, short variants with their targets (the full ones run from
//! `meridian bench ptp`).

use meridian_proto::unicast::ServoKind;
use meridian_sim::scenarios::{self, FailoverParams, PdvCase};

#[test]
fn a_atr_single_converges_to_20_ns() {
    let sel = scenarios::atr_single(11, ServoKind::Selection, 600);
    let pi = scenarios::atr_single(11, ServoKind::Pi, 600);
    eprintln!(
        "atr-single: selection {:?}\n            PI        {:?}",
        sel.te, pi.te
    );
    assert!(sel.te.p99_abs_ns <= 20.0, "{:?}", sel.te);
    assert!(pi.te.p99_abs_ns <= 20.0, "{:?}", pi.te);
}

#[test]
fn b_acr_dual_failover() {
    // Compressed timing; the full one (fail 600 s, back 1500 s, WTR 300 s) is in the bench.
    let p = FailoverParams {
        fail_at: 300,
        restore_at: 420,
        wait_to_restore: 60,
        seconds: 560,
        frequency_span: 64,
    };
    let r = scenarios::acr_dual_failover(5, p);
    eprintln!("acr-dual-failover: {r:?}");
    // Announce every 2 s, receipt timeout 3: within 3 × 2 + 5 s.
    assert!(r.switched_after.is_some_and(|s| s <= 11), "{r:?}");
    assert!(
        r.returned_after.is_some_and(|s| (60..=70).contains(&s)),
        "{r:?}"
    );
    assert!(r.max_frequency_error_ppb <= 16.0, "{r:?}");
}

#[test]
fn c_lease_expires_when_the_client_is_gone() {
    let r = scenarios::lease_expiry(3, 60, 100);
    eprintln!("lease-expiry: {r:?}");
    assert!(
        r.last_packet_after_crash <= r.duration as f64 + 1.0,
        "{r:?}"
    );
    assert!(!r.slot_held_at_end, "{r:?}");
}

#[test]
fn d_capacity_refuses_beyond_512_without_a_storm() {
    let r = scenarios::capacity(8, 600, 512, 40);
    eprintln!("capacity: {r:?}");
    assert_eq!((r.granted, r.refused), (512, 88), "{r:?}");
    assert_eq!(r.synchronized, 512, "{r:?}");
    // Back-off 1, 2, 4, 8, 16 s…: at most 6 requests each in 40 s (a storm would be one per
    // second or more).
    assert!(r.requests_from_refused <= 88 * 6, "{r:?}");
}

#[test]
fn e_atr_pdv_five_hops_short() {
    let case = PdvCase::Queueing { hops: 5 };
    let sel = scenarios::atr_pdv(21, case, ServoKind::Selection, 1500, 750);
    let pi = scenarios::atr_pdv(21, case, ServoKind::Pi, 1500, 750);
    eprintln!("atr-pdv {case}: selection {:?}\n  PI {:?}", sel.te, pi.te);
    assert!(sel.te.p99_abs_ns <= 1_100.0, "{:?}", sel.te);
    assert!(
        pi.te.p99_abs_ns >= 20.0 * sel.te.p99_abs_ns,
        "PI {:?}",
        pi.te
    );
}

#[test]
fn g_boundary_chain_forwards_the_grandmaster() {
    let r = scenarios::boundary_chain(4, 600);
    eprintln!("boundary chain: {r:?}");
    assert_eq!(r.steps_removed, Some(1));
    assert!(r.grandmaster_forwarded);
    assert_eq!(r.clock_class, Some(6));
    assert!(r.te_client.is_some_and(|t| t.p99_abs_ns < 100.0), "{r:?}");
}

#[test]
fn f_acr_pdv_holds_16_ppb_at_80_percent_load() {
    use meridian_sim::pdv::G8263Load;
    let r = scenarios::acr_pdv(31, G8263Load::Fixed(80.0), ServoKind::Selection, 1500, 400);
    eprintln!("acr-pdv 80 %: {r:?}");
    assert!(r.max_instant_frequency_error_ppb <= 16.0, "{r:?}");
    assert!(r.max_frequency_error_after_settle_ppb <= 16.0, "{r:?}");
}

#[test]
fn g_boundary_degrades_to_holdover_then_its_own_class() {
    let (_, classes) = scenarios::boundary_chain_with(4, 900, Some(300));
    let class_at = |t: i64| classes.iter().find(|c| c.0 == t).and_then(|c| c.1);
    eprintln!("classes: {classes:?}");
    // Locked to the grandmaster: its class 6, forwarded.
    assert_eq!(class_at(290), Some(6));
    // Grandmaster gone: holdover for 300 s, then the boundary's own default (248).
    assert_eq!(class_at(330), Some(7));
    assert_eq!(class_at(590), Some(7));
    assert_eq!(class_at(640), Some(248));
}

#[test]
fn two_way_acr_uses_the_less_disturbed_direction() {
    use meridian_proto::unicast::RecoveryMode;
    // The largest instantaneous error is one draw's extreme: over seeds 1–12 two-way gave
    // 0.97–2.79 ppb against one-way's 7.7–56, so three seeds, each judged.
    for seed in 6..=8 {
        let one = scenarios::acr_asymmetric(seed, RecoveryMode::AcrOneWay, 1200, 600);
        let two = scenarios::acr_asymmetric(seed, RecoveryMode::AcrTwoWay, 1200, 600);
        eprintln!(
            "seed {seed}: ACR with a busy forward path: one-way {one:.2} ppb, two-way {two:.2} ppb"
        );
        assert!(
            two < 3.0 && two < one / 3.0,
            "seed {seed}: one-way {one}, two-way {two}"
        );
    }
}

#[test]
fn b_acr_failover_after_ten_minutes_keeps_the_frequency() {
    // The example's timing: the failover came 6.9 s after the outage, the first window on
    // server2 held one queued Sync, and the phase reference taken from it made a 1250-ppb,
    // half-minute excursion. References now wait for a window that shows the floor.
    let p = FailoverParams {
        fail_at: 600,
        restore_at: 1500,
        wait_to_restore: 300,
        seconds: 700,
        frequency_span: 64,
    };
    let r = scenarios::acr_dual_failover(1, p);
    eprintln!("acr failover at 600 s: {r:?}");
    assert!(r.switched_after.is_some_and(|s| s <= 11), "{r:?}");
    assert!(r.max_frequency_error_ppb <= 16.0, "{r:?}");
}

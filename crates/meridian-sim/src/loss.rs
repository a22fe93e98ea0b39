//! Packet loss models.

use rand::RngExt;

use crate::rng::SimRng;

/// How one direction of a link loses packets.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum LossModel {
    /// Nothing is lost.
    #[default]
    None,
    /// Each packet is lost independently with probability `p`.
    Bernoulli {
        /// Loss probability.
        p: f64,
    },
    /// Gilbert–Elliott bursts: a good state that loses nothing and a bad state that loses with
    /// probability `loss_in_bad`, switching per packet.
    Bursty {
        /// Probability of moving from good to bad at a packet.
        p_enter: f64,
        /// Probability of moving from bad to good at a packet.
        p_exit: f64,
        /// Loss probability while bad.
        loss_in_bad: f64,
    },
}

/// Per-direction loss state (whether a burst is under way).
#[derive(Clone, Copy, Debug, Default)]
pub struct LossState {
    bad: bool,
}

impl LossModel {
    /// Whether the next packet is lost.
    pub fn lose(&self, state: &mut LossState, rng: &mut SimRng) -> bool {
        match *self {
            Self::None => false,
            Self::Bernoulli { p } => rng.random::<f64>() < p,
            Self::Bursty {
                p_enter,
                p_exit,
                loss_in_bad,
            } => {
                let flip = rng.random::<f64>();
                state.bad = if state.bad {
                    flip >= p_exit
                } else {
                    flip < p_enter
                };
                state.bad && rng.random::<f64>() < loss_in_bad
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Stream, stream};

    #[test]
    fn rates_and_burstiness() {
        let mut r = stream(2, Stream::LinkDirection, 0, 0);
        let n = 200_000;
        let mut st = LossState::default();
        let b = LossModel::Bernoulli { p: 0.1 };
        let lost = (0..n).filter(|_| b.lose(&mut st, &mut r)).count();
        assert!((lost as f64 / n as f64 - 0.1).abs() < 0.005);

        // Stationary bad fraction 0.01/(0.01+0.1) ≈ 9 %, all lost there; bursts average 10 packets.
        let g = LossModel::Bursty {
            p_enter: 0.01,
            p_exit: 0.1,
            loss_in_bad: 1.0,
        };
        let seq: Vec<bool> = (0..n).map(|_| g.lose(&mut st, &mut r)).collect();
        let lost = seq.iter().filter(|&&l| l).count() as f64;
        assert!((lost / n as f64 - 0.0909).abs() < 0.01);
        let bursts = seq.windows(2).filter(|w| !w[0] && w[1]).count() as f64;
        assert!(
            (lost / bursts - 10.0).abs() < 1.5,
            "mean burst {}",
            lost / bursts
        );
        assert!(!LossModel::None.lose(&mut st, &mut r));
    }
}

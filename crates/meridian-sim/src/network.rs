//! The simulated network: devices and LAN segments joined by links, addresses owned by devices,
//! and shortest-path routing over the links that are up.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::net::Ipv4Addr;

use meridian_proto::time::{Duration, Timestamp};
use rand::RngExt;

use crate::loss::{LossModel, LossState};
use crate::pdv::{PdvModel, PdvState};
use crate::rng::SimRng;

/// A device in the simulation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub usize);

/// A LAN segment: a shared medium devices attach to, itself no device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SegmentId(pub usize);

/// A link between two vertices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LinkId(pub usize);

/// One end of a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Vertex {
    /// A device (which also forwards, as routers do).
    Node(NodeId),
    /// A LAN segment.
    Segment(SegmentId),
}

/// Which way a packet crosses a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Direction {
    /// From end `a` to end `b`.
    AtoB,
    /// From end `b` to end `a`.
    BtoA,
}

impl Direction {
    const fn index(self) -> usize {
        match self {
            Self::AtoB => 0,
            Self::BtoA => 1,
        }
    }
}

/// Occasional reordering: a packet is held back by up to `max_extra`, exempt from FIFO order.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Reorder {
    /// Probability that a packet is held back.
    pub p: f64,
    /// Largest extra delay.
    pub max_extra: Duration,
}

/// Delay, PDV, asymmetry, loss and reordering of one link; index 0 is a→b, 1 is b→a.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkModel {
    /// Minimum delay (propagation plus serialization) in both directions.
    pub floor: Duration,
    /// Extra fixed delay of the a→b direction over b→a (may be negative). Two-way methods cannot
    /// see it: it biases their offset by half its value.
    pub asymmetry: Duration,
    /// Variation above the floor, per direction.
    pub pdv: [PdvModel; 2],
    /// Loss, per direction.
    pub loss: [LossModel; 2],
    /// Reordering, both directions.
    pub reorder: Reorder,
}

impl LinkModel {
    /// A symmetric link with the same PDV in both directions and no loss.
    #[must_use]
    pub fn symmetric(floor: Duration, pdv: PdvModel) -> Self {
        Self {
            floor,
            asymmetry: Duration::ZERO,
            pdv: [pdv; 2],
            loss: [LossModel::None; 2],
            reorder: Reorder::default(),
        }
    }

    /// The fixed delay of one direction.
    #[must_use]
    pub fn floor_of(&self, dir: Direction) -> Duration {
        let d = match dir {
            Direction::AtoB => self.floor + self.asymmetry,
            Direction::BtoA => self.floor,
        };
        d.max(Duration::ZERO)
    }
}

/// Random state of one link direction.
#[derive(Debug)]
pub(crate) struct DirState {
    pub(crate) rng: SimRng,
    pdv: PdvState,
    loss: LossState,
    /// When the last in-order packet left this direction (FIFO).
    last_exit: Timestamp,
}

impl DirState {
    pub(crate) fn new(rng: SimRng) -> Self {
        Self {
            rng,
            pdv: PdvState::default(),
            loss: LossState::default(),
            last_exit: Timestamp::EPOCH,
        }
    }
}

/// A link and its running state.
#[derive(Debug)]
pub(crate) struct Link {
    pub(crate) a: Vertex,
    pub(crate) b: Vertex,
    pub(crate) model: LinkModel,
    pub(crate) up: bool,
    pub(crate) dirs: [DirState; 2],
}

/// The fate of a packet on one link.
pub(crate) enum Crossing {
    /// It leaves the far end at this true time.
    Exit(Timestamp),
    /// The loss model dropped it.
    Lost,
}

impl Link {
    /// Sends a packet into the link at true time `t`.
    pub(crate) fn cross(&mut self, t: Timestamp, dir: Direction) -> Crossing {
        let floor = self.model.floor_of(dir);
        let st = &mut self.dirs[dir.index()];
        if self.model.loss[dir.index()].lose(&mut st.loss, &mut st.rng) {
            return Crossing::Lost;
        }
        let exit = t + floor + self.model.pdv[dir.index()].sample(t, &mut st.pdv, &mut st.rng);
        let r = self.model.reorder;
        if r.p > 0.0 && st.rng.random::<f64>() < r.p {
            let extra =
                Duration::from_nanos_f64(r.max_extra.as_nanos_f64() * st.rng.random::<f64>());
            return Crossing::Exit(exit + extra);
        }
        // Queues are FIFO: a packet cannot overtake the one before it.
        let exit = exit.max(st.last_exit);
        st.last_exit = exit;
        Crossing::Exit(exit)
    }

    fn other_end(&self, from: Vertex) -> Option<(Vertex, Direction)> {
        if self.a == from {
            Some((self.b, Direction::AtoB))
        } else if self.b == from {
            Some((self.a, Direction::BtoA))
        } else {
            None
        }
    }
}

/// A path: the links to cross, in order, with the direction of each.
pub(crate) type Path = Vec<(LinkId, Direction)>;

/// One step of a path: the link crossed, which way, and the vertex it came from.
type Hop = (LinkId, Direction, Vertex);

impl Vertex {
    /// A dense index for per-vertex tables: nodes even, segments odd.
    fn index(self) -> usize {
        match self {
            Self::Node(n) => 2 * n.0,
            Self::Segment(s) => 2 * s.0 + 1,
        }
    }
}

/// The links that are up, from each vertex (by [`Vertex::index`]), in link order (what a search
/// from it may cross).
type Adjacency = Vec<Vec<(LinkId, Direction, Vertex)>>;

fn adjacency(links: &[Link]) -> Adjacency {
    let mut adj: Adjacency = Vec::new();
    for (i, link) in links.iter().enumerate().filter(|(_, l)| l.up) {
        for from in [link.a, link.b] {
            if let Some((next, dir)) = link.other_end(from) {
                let v = from.index();
                if adj.len() <= v {
                    adj.resize_with(v + 1, Vec::new);
                }
                adj[v].push((LinkId(i), dir, next));
            }
        }
    }
    // A link from a vertex to itself was listed twice; keep link order within each vertex.
    for v in &mut adj {
        v.sort_by_key(|h| (h.0, h.1));
        v.dedup();
    }
    adj
}

/// The shortest-path tree from `src` over links that are up, through nodes for which
/// `transit(node)` holds: for each vertex reached, its cost and the hop that reached it.
/// Weight: floor delay plus 1 µs per hop, so ties go to fewer hops; equal paths resolve by
/// link order, deterministically. (Tables indexed by vertex, not maps: a thousand nodes'
/// trees took a second of start-up.)
fn tree(links: &[Link], adj: &Adjacency, src: NodeId, transit: impl Fn(NodeId) -> bool) -> Tree {
    let start = Vertex::Node(src);
    let mut best: Tree = vec![None; adj.len().max(start.index() + 1)];
    // Popped in the order of (cost, vertex): the order that resolves ties.
    let mut frontier: BinaryHeap<Reverse<(Duration, Vertex)>> = BinaryHeap::new();
    best[start.index()] = Some((Duration::ZERO, None));
    frontier.push(Reverse((Duration::ZERO, start)));
    while let Some(Reverse((cost, v))) = frontier.pop() {
        if best[v.index()].is_some_and(|(c, _)| c < cost) {
            continue;
        }
        if let Vertex::Node(n) = v
            && v != start
            && !transit(n)
        {
            continue;
        }
        for &(link, dir, next) in adj.get(v.index()).map_or(&[][..], Vec::as_slice) {
            let c = cost + links[link.0].model.floor_of(dir) + Duration::from_micros(1);
            let slot = &mut best[next.index()];
            if slot.is_none_or(|(old, _)| c < old) {
                *slot = Some((c, Some((link, dir, v))));
                frontier.push(Reverse((c, next)));
            }
        }
    }
    best
}

/// The path to `dst` in a shortest-path tree from `src`.
fn path_in(tree: &Tree, src: NodeId, dst: NodeId) -> Option<Path> {
    let start = Vertex::Node(src);
    let mut path = Vec::new();
    let mut v = Vertex::Node(dst);
    while v != start {
        let Some((_, Some((link, dir, prev)))) = tree.get(v.index()).copied().flatten() else {
            return None;
        };
        path.push((link, dir));
        v = prev;
    }
    path.reverse();
    Some(path)
}

/// A source's shortest-path tree, as [`tree`] returns it: by vertex index, its cost and the hop
/// that reached it, if reached.
type Tree = Vec<Option<(Duration, Option<Hop>)>>;

/// Address ownership and cached routes: the links' adjacency and each source's shortest-path
/// tree are computed once until a link or node changes state (a search per packet pair
/// scanned every link from every vertex: two thirds of a 1000-node run).
#[derive(Debug, Default)]
pub(crate) struct Routing {
    pub(crate) owner: BTreeMap<Ipv4Addr, NodeId>,
    adjacency: Option<Adjacency>,
    trees: BTreeMap<NodeId, Tree>,
    /// By source (indexed by its number), then destination address: the address's owner and
    /// the path there. A packet's route is two short lookups (a source talks to few addresses),
    /// not a search of every address in the network.
    cache: Vec<BTreeMap<Ipv4Addr, (NodeId, Option<Path>)>>,
}

impl Routing {
    /// Forgets every route (after a link or node changes state).
    pub(crate) fn invalidate(&mut self) {
        self.adjacency = None;
        self.trees.clear();
        self.cache.clear();
    }

    /// The path from node `src` to node `dst` now, if any.
    pub(crate) fn path(
        &mut self,
        links: &[Link],
        src: NodeId,
        dst: NodeId,
        transit: impl Fn(NodeId) -> bool,
    ) -> Option<Path> {
        let adj = self
            .adjacency
            .get_or_insert_with(|| crate::network::adjacency(links));
        let t = self
            .trees
            .entry(src)
            .or_insert_with(|| tree(links, adj, src, transit));
        path_in(t, src, dst)
    }

    /// Where a packet from `src` to address `to` goes: the address's owner and the path there
    /// (`None`: unreachable now); `None` for an address nobody owns.
    pub(crate) fn route(
        &mut self,
        links: &[Link],
        src: NodeId,
        to: Ipv4Addr,
        transit: impl Fn(NodeId) -> bool,
    ) -> Option<(NodeId, Option<&Path>)> {
        let Self {
            owner,
            adjacency,
            trees,
            cache,
        } = self;
        if cache.len() <= src.0 {
            cache.resize_with(src.0 + 1, BTreeMap::new);
        }
        let entry = match cache[src.0].entry(to) {
            std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::btree_map::Entry::Vacant(v) => {
                let dst = *owner.get(&to)?;
                let adj = adjacency.get_or_insert_with(|| crate::network::adjacency(links));
                let t = trees
                    .entry(src)
                    .or_insert_with(|| tree(links, adj, src, transit));
                v.insert((dst, path_in(t, src, dst)))
            }
        };
        Some((entry.0, entry.1.as_ref()))
    }
}

//! The skeleton graph of ST-GCN: NTU-25 bones, hop distances and the spatial-configuration partition.
//!
//! Follows `module/gcn/utils/graph.py` of SMIE (itself ST-GCN's `Graph` with `layout='ntu-rgb+d'`,
//! `strategy='spatial'`, `max_hop=1`).

/// NTU RGB+D bones, 1-based as in the reference (`neighbor_1base`).
const NTU_BONES_1BASE: [(usize, usize); 24] = [
    (1, 2),
    (2, 21),
    (3, 21),
    (4, 3),
    (5, 21),
    (6, 5),
    (7, 6),
    (8, 7),
    (9, 21),
    (10, 9),
    (11, 10),
    (12, 11),
    (13, 1),
    (14, 13),
    (15, 14),
    (16, 15),
    (17, 1),
    (18, 17),
    (19, 18),
    (20, 19),
    (22, 23),
    (23, 8),
    (24, 25),
    (25, 12),
];

/// Number of joints of the NTU layout.
pub const NTU_JOINTS: usize = 25;
/// 0-based centre joint (spine middle... joint 21, "spine shoulder", in the 1-based numbering).
pub const NTU_CENTER: usize = 20;

/// A skeleton graph with its spatial partition `a` of shape (K, V, V), row-major.
#[derive(Clone, Debug)]
pub struct Graph {
    pub num_nodes: usize,
    /// Undirected edges (0-based), without self links.
    pub edges: Vec<(usize, usize)>,
    pub center: usize,
    /// Hop distance, `usize::MAX` for unreachable pairs (beyond `max_hop`).
    pub hop: Vec<usize>,
    /// Partitions (root, centripetal, centrifugal) for `max_hop = 1`: K x V x V, `a[k][j][i]`.
    pub a: Vec<f32>,
    pub k: usize,
}

impl Graph {
    /// The NTU-25 graph with ST-GCN's spatial partition (K = 3).
    pub fn ntu_spatial() -> Self {
        let edges = NTU_BONES_1BASE
            .iter()
            .map(|&(i, j)| (i - 1, j - 1))
            .collect();
        Self::spatial(NTU_JOINTS, edges, NTU_CENTER, 1)
    }

    /// Spatial-configuration partitioning of any graph (ST-GCN paper, §3.6).
    pub fn spatial(
        num_nodes: usize,
        edges: Vec<(usize, usize)>,
        center: usize,
        max_hop: usize,
    ) -> Self {
        let v = num_nodes;
        let hop = hop_distance(v, &edges, max_hop);
        // Column-normalised adjacency over hops 0..=max_hop (`normalize_digraph`: A · D^-1 with D the column sums).
        let mut adj = vec![0f64; v * v];
        for i in 0..v * v {
            if hop[i] <= max_hop {
                adj[i] = 1.0;
            }
        }
        let mut norm = vec![0f64; v * v];
        for col in 0..v {
            let s: f64 = (0..v).map(|r| adj[r * v + col]).sum();
            if s > 0.0 {
                for r in 0..v {
                    norm[r * v + col] = adj[r * v + col] / s;
                }
            }
        }
        let mut parts: Vec<Vec<f64>> = Vec::new();
        for h in 0..=max_hop {
            let mut root = vec![0f64; v * v];
            let mut close = vec![0f64; v * v];
            let mut further = vec![0f64; v * v];
            for i in 0..v {
                for j in 0..v {
                    if hop[j * v + i] != h {
                        continue;
                    }
                    let (dj, di) = (hop[j * v + center], hop[i * v + center]);
                    let x = norm[j * v + i];
                    if dj == di {
                        root[j * v + i] = x;
                    } else if dj > di {
                        close[j * v + i] = x;
                    } else {
                        further[j * v + i] = x;
                    }
                }
            }
            if h == 0 {
                parts.push(root);
            } else {
                parts.push(root.iter().zip(&close).map(|(a, b)| a + b).collect());
                parts.push(further);
            }
        }
        let k = parts.len();
        let a = parts.into_iter().flatten().map(|x| x as f32).collect();
        Self {
            num_nodes,
            edges,
            center,
            hop,
            a,
            k,
        }
    }

    /// Partition `k` as a V x V row-major slice.
    pub fn part(&self, k: usize) -> &[f32] {
        let vv = self.num_nodes * self.num_nodes;
        &self.a[k * vv..(k + 1) * vv]
    }
}

/// Hop distances by breadth-first search; pairs further than `max_hop` get `usize::MAX` (the reference's `inf`).
fn hop_distance(v: usize, edges: &[(usize, usize)], max_hop: usize) -> Vec<usize> {
    let mut nbrs = vec![Vec::new(); v];
    for &(i, j) in edges {
        nbrs[i].push(j);
        nbrs[j].push(i);
    }
    let mut hop = vec![usize::MAX; v * v];
    for s in 0..v {
        hop[s * v + s] = 0;
        let mut frontier = vec![s];
        for d in 1..=max_hop {
            let mut next = Vec::new();
            for &u in &frontier {
                for &w in &nbrs[u] {
                    if hop[s * v + w] == usize::MAX {
                        hop[s * v + w] = d;
                        next.push(w);
                    }
                }
            }
            frontier = next;
        }
    }
    hop
}

//! Grouping the nodes a delegate supports into partitions that can each run as one unit.
//!
//! A partition is valid when no path leaves it and comes back (through the CPU or another
//! partition): then the graph with each partition contracted to one node stays acyclic and
//! has an execution order. Nodes are visited in execution order; a supported node joins an
//! existing partition of the same delegate unless one of its producers outside that partition
//! already depends on it.

use std::collections::BTreeSet;

/// Assigns nodes to partitions.
///
/// - `deps[i]`: the nodes whose outputs node `i` reads (all `< i`).
/// - `supported[i]`: whether the delegate being partitioned for can run node `i`.
/// - `assigned[i]`: partitions already made (by earlier delegates, or this one's earlier
///   partitions); updated in place. Partition ids `>= first_new` are this delegate's.
///
/// Returns the ids of the partitions created, in creation order.
pub fn assign(
    deps: &[Vec<usize>],
    supported: &[bool],
    assigned: &mut [Option<usize>],
    next_id: &mut usize,
) -> Vec<usize> {
    let n = deps.len();
    let first_new = *next_id;
    // reach[i]: the partitions node i is in or depends on.
    let mut reach: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
    let mut created = Vec::new();
    for i in 0..n {
        let mut r = BTreeSet::new();
        for &m in &deps[i] {
            r.extend(reach[m].iter().copied());
        }
        if assigned[i].is_none() && supported[i] {
            let can_join = |k: usize| {
                deps[i]
                    .iter()
                    .all(|&m| assigned[m] == Some(k) || !reach[m].contains(&k))
            };
            // Prefer a producer's partition, then any other partition of this delegate.
            let mut choice = deps[i]
                .iter()
                .filter_map(|&m| assigned[m])
                .filter(|&k| k >= first_new)
                .filter(|&k| can_join(k))
                .min();
            if choice.is_none() {
                choice = created.iter().copied().find(|&k| can_join(k));
            }
            let k = choice.unwrap_or_else(|| {
                let k = *next_id;
                *next_id += 1;
                created.push(k);
                k
            });
            assigned[i] = Some(k);
        }
        if let Some(k) = assigned[i] {
            r.insert(k);
        }
        reach[i] = r;
    }
    created
}

/// An execution order of units (single nodes, or whole partitions) that respects every
/// dependency, ties broken by the lowest node index so the order is deterministic.
/// `unit_of[i]` names the unit of node `i`; returns the units in order.
pub fn schedule(deps: &[Vec<usize>], unit_of: &[usize], units: usize) -> Option<Vec<usize>> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let mut first_node = vec![usize::MAX; units];
    for (i, &u) in unit_of.iter().enumerate() {
        first_node[u] = first_node[u].min(i);
    }
    let mut preds: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); units];
    for (i, d) in deps.iter().enumerate() {
        for &m in d {
            if unit_of[m] != unit_of[i] {
                preds[unit_of[i]].insert(unit_of[m]);
            }
        }
    }
    let mut succs: Vec<Vec<usize>> = vec![Vec::new(); units];
    let mut missing: Vec<usize> = vec![0; units];
    for (u, p) in preds.iter().enumerate() {
        missing[u] = p.len();
        for &q in p {
            succs[q].push(u);
        }
    }
    let mut ready: BinaryHeap<Reverse<(usize, usize)>> = (0..units)
        .filter(|&u| missing[u] == 0 && first_node[u] != usize::MAX)
        .map(|u| Reverse((first_node[u], u)))
        .collect();
    let mut order = Vec::with_capacity(units);
    while let Some(Reverse((_, u))) = ready.pop() {
        order.push(u);
        for &s in &succs[u] {
            missing[s] -= 1;
            if missing[s] == 0 {
                ready.push(Reverse((first_node[s], s)));
            }
        }
    }
    let used = first_node.iter().filter(|&&f| f != usize::MAX).count();
    (order.len() == used).then_some(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(deps: &[Vec<usize>], supported: &[bool]) -> Vec<Option<usize>> {
        let mut assigned = vec![None; deps.len()];
        let mut next = 0;
        assign(deps, supported, &mut assigned, &mut next);
        assigned
    }

    fn acyclic(deps: &[Vec<usize>], assigned: &[Option<usize>]) -> bool {
        let parts = assigned.iter().flatten().max().map_or(0, |m| m + 1);
        let unit_of: Vec<usize> = assigned
            .iter()
            .enumerate()
            .map(|(i, a)| a.unwrap_or(parts + i))
            .collect();
        schedule(deps, &unit_of, parts + deps.len()).is_some()
    }

    #[test]
    fn a_chain_is_one_partition() {
        let deps = vec![vec![], vec![0], vec![1], vec![2]];
        let a = run(&deps, &[true; 4]);
        assert_eq!(a, vec![Some(0); 4]);
    }

    #[test]
    fn a_path_through_the_cpu_and_back_splits_the_partition() {
        // 0 (gpu) -> 1 (cpu) -> 2 (gpu); 0 -> 2 as well.
        let deps = vec![vec![], vec![0], vec![0, 1]];
        let a = run(&deps, &[true, false, true]);
        assert_ne!(a[0], a[2]);
        assert!(acyclic(&deps, &a));
    }

    #[test]
    fn independent_branches_share_a_partition() {
        // 0 -> 1 (cpu); 0 -> 2; 1,2 -> 3
        let deps = vec![vec![], vec![0], vec![0], vec![1, 2]];
        let a = run(&deps, &[true, false, true, true]);
        assert_eq!(a[0], a[2]);
        assert_ne!(a[0], a[3]);
        assert!(acyclic(&deps, &a));
    }

    #[test]
    fn random_graphs_always_give_acyclic_partitions() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..500 {
            let n = rng.random_range(1..30);
            let deps: Vec<Vec<usize>> = (0..n)
                .map(|i| {
                    let mut d: Vec<usize> = (0..i).filter(|_| rng.random_bool(0.2)).collect();
                    d.dedup();
                    d
                })
                .collect();
            let supported: Vec<bool> = (0..n).map(|_| rng.random_bool(0.7)).collect();
            let a = run(&deps, &supported);
            assert!(acyclic(&deps, &a), "{deps:?} {supported:?} -> {a:?}");
            for i in 0..n {
                assert_eq!(a[i].is_some(), supported[i]);
            }
        }
    }
}

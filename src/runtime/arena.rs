//! Placing tensors with known lifetimes in one arena so that tensors alive at the same time
//! never overlap, and memory is reused once a tensor is dead.

/// A buffer to place: `size` bytes alive from step `first` to step `last` inclusive.
#[derive(Debug, Clone, Copy)]
pub struct Lifetime {
    pub size: usize,
    pub first: usize,
    pub last: usize,
}

/// Offsets for each buffer, the arena size, and the lower bound any placement must reach.
#[derive(Debug, Clone)]
pub struct Placement {
    pub offsets: Vec<usize>,
    pub arena_bytes: usize,
    /// The most bytes alive at any one step: no placement can use less.
    pub lower_bound_bytes: usize,
}

/// Alignment of every placed buffer.
pub const ALIGN: usize = 16;

fn align(n: usize) -> usize {
    n.div_ceil(ALIGN).saturating_mul(ALIGN)
}

/// Greedy by size: the largest buffers are placed first, each at the lowest offset that does
/// not collide with an already placed buffer whose lifetime overlaps its own.
pub fn place(buffers: &[Lifetime]) -> Placement {
    let mut order: Vec<usize> = (0..buffers.len()).collect();
    order.sort_by(|&a, &b| buffers[b].size.cmp(&buffers[a].size).then(a.cmp(&b)));
    let mut offsets = vec![0usize; buffers.len()];
    let mut placed: Vec<usize> = Vec::with_capacity(buffers.len());
    let mut arena_bytes = 0;
    for &i in &order {
        let b = buffers[i];
        let size = align(b.size);
        let mut busy: Vec<(usize, usize)> = placed
            .iter()
            .filter(|&&j| buffers[j].first <= b.last && b.first <= buffers[j].last)
            .map(|&j| {
                (
                    offsets[j],
                    offsets[j].saturating_add(align(buffers[j].size)),
                )
            })
            .collect();
        busy.sort_unstable();
        let mut candidate = 0usize;
        for (start, end) in busy {
            if start >= candidate.saturating_add(size) {
                break;
            }
            candidate = candidate.max(end);
        }
        offsets[i] = candidate;
        arena_bytes = arena_bytes.max(candidate.saturating_add(size));
        placed.push(i);
    }
    let steps = buffers.iter().map(|b| b.last + 1).max().unwrap_or(0);
    let mut live = vec![0usize; steps];
    for b in buffers {
        for l in &mut live[b.first..=b.last] {
            *l = l.saturating_add(align(b.size));
        }
    }
    Placement {
        offsets,
        arena_bytes,
        lower_bound_bytes: live.into_iter().max().unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overlaps(a: (usize, usize), b: (usize, usize)) -> bool {
        a.0 < b.1 && b.0 < a.1
    }

    #[test]
    fn tensors_alive_together_never_share_bytes_and_dead_ones_are_reused() {
        let bufs = [
            Lifetime {
                size: 100,
                first: 0,
                last: 1,
            },
            Lifetime {
                size: 64,
                first: 1,
                last: 2,
            },
            Lifetime {
                size: 100,
                first: 2,
                last: 3,
            },
            Lifetime {
                size: 32,
                first: 3,
                last: 3,
            },
        ];
        let p = place(&bufs);
        for i in 0..bufs.len() {
            for j in 0..i {
                let (a, b) = (bufs[i], bufs[j]);
                if a.first <= b.last && b.first <= a.last {
                    let ra = (p.offsets[i], p.offsets[i] + a.size);
                    let rb = (p.offsets[j], p.offsets[j] + b.size);
                    assert!(!overlaps(ra, rb), "{i} and {j} overlap");
                }
            }
        }
        // Buffers 0 and 2 never live together: the arena is smaller than the sum of all.
        assert!(p.arena_bytes < 112 + 64 + 112 + 32);
        assert!(p.arena_bytes >= p.lower_bound_bytes);
        assert_eq!(p.lower_bound_bytes, 112 + 64);
    }
}

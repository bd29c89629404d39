//! Placing tensors with known lifetimes in one arena so that tensors alive at the same time
//! never overlap, and memory is reused once a tensor is dead.

/// A buffer to place: `size` bytes alive from step `first` to step `last` inclusive.
#[derive(Debug, Clone, Copy)]
pub struct Lifetime {
    /// Bytes the buffer needs.
    pub size: usize,
    /// First step at which it is alive.
    pub first: usize,
    /// Last step at which it is alive (inclusive).
    pub last: usize,
}

/// Offsets for each buffer, the arena size, and the lower bound any placement must reach.
#[derive(Debug, Clone)]
pub struct Placement {
    /// Byte offset of each buffer, in the order they were given.
    pub offsets: Vec<usize>,
    /// Bytes the arena needs.
    pub arena_bytes: usize,
    /// The most bytes alive at any one step: no placement can use less.
    pub lower_bound_bytes: usize,
}

/// Where one buffer went when placed over several arenas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// Index of the arena.
    pub arena: usize,
    /// Byte offset inside that arena (a multiple of the alignment asked for).
    pub offset: usize,
}

/// A placement over one or more arenas of bounded size.
#[derive(Debug, Clone)]
pub struct Arenas {
    /// Where each buffer went, in the order they were given.
    pub slots: Vec<Slot>,
    /// Bytes each arena needs.
    pub arena_bytes: Vec<usize>,
}

/// A buffer larger than any arena may be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooLarge {
    /// Index of the buffer.
    pub index: usize,
    /// Its size in bytes.
    pub bytes: usize,
    /// The most bytes one arena may hold.
    pub capacity: usize,
}

impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "buffer {} needs {} bytes, more than an arena may hold ({} bytes)",
            self.index, self.bytes, self.capacity
        )
    }
}

impl std::error::Error for TooLarge {}

/// Alignment of every placed buffer.
pub const ALIGN: usize = 16;

fn align_to(n: usize, align: usize) -> usize {
    let align = align.max(1);
    n.div_ceil(align).saturating_mul(align)
}

fn align(n: usize) -> usize {
    align_to(n, ALIGN)
}

fn alive_together(a: &Lifetime, b: &Lifetime) -> bool {
    a.first <= b.last && b.first <= a.last
}

/// Greedy by size over arenas of at most `capacity` bytes: the largest buffers are placed
/// first, each at the lowest `align`-multiple offset of the first arena where it collides with
/// no already placed buffer whose lifetime overlaps its own and still fits under `capacity`; a
/// new arena is opened when none has room. With `capacity == usize::MAX` everything lands in
/// one arena. Buffers occupy exactly `size` bytes (pad the sizes first if the ends must be
/// aligned too).
///
/// # Errors
/// [`TooLarge`] when one buffer alone exceeds `capacity`.
pub fn place_in_arenas(
    buffers: &[Lifetime],
    align: usize,
    capacity: usize,
) -> Result<Arenas, TooLarge> {
    if let Some((index, b)) = buffers.iter().enumerate().find(|(_, b)| b.size > capacity) {
        return Err(TooLarge {
            index,
            bytes: b.size,
            capacity,
        });
    }
    Ok(greedy_by_size(buffers, align, capacity))
}

/// [`place_in_arenas`] without the size check: a buffer larger than `capacity` gets an arena
/// of its own.
fn greedy_by_size(buffers: &[Lifetime], align: usize, capacity: usize) -> Arenas {
    let mut order: Vec<usize> = (0..buffers.len()).collect();
    order.sort_by(|&a, &b| buffers[b].size.cmp(&buffers[a].size).then(a.cmp(&b)));
    let mut slots = vec![
        Slot {
            arena: 0,
            offset: 0
        };
        buffers.len()
    ];
    let mut members: Vec<Vec<usize>> = Vec::new();
    let mut arena_bytes: Vec<usize> = Vec::new();
    for &i in &order {
        let b = buffers[i];
        let lowest_offset = |members: &[usize]| {
            let mut busy: Vec<(usize, usize)> = members
                .iter()
                .filter(|&&j| alive_together(&buffers[j], &b))
                .map(|&j| {
                    (
                        slots[j].offset,
                        slots[j].offset.saturating_add(buffers[j].size),
                    )
                })
                .collect();
            busy.sort_unstable();
            let mut candidate = 0usize;
            for (start, end) in busy {
                if start >= candidate.saturating_add(b.size) {
                    break;
                }
                candidate = candidate.max(align_to(end, align));
            }
            candidate
        };
        let found = members.iter().enumerate().find_map(|(k, m)| {
            let offset = lowest_offset(m);
            (offset.saturating_add(b.size) <= capacity).then_some((k, offset))
        });
        let (arena, offset) = found.unwrap_or_else(|| {
            members.push(Vec::new());
            arena_bytes.push(0);
            (members.len() - 1, 0)
        });
        slots[i] = Slot { arena, offset };
        members[arena].push(i);
        arena_bytes[arena] = arena_bytes[arena].max(offset.saturating_add(b.size));
    }
    Arenas { slots, arena_bytes }
}

/// The most bytes alive at any one step, each buffer's size rounded up to `align`: no
/// placement with that alignment can use less.
pub fn live_peak(buffers: &[Lifetime], align: usize) -> usize {
    let steps = buffers
        .iter()
        .map(|b| b.last.saturating_add(1))
        .max()
        .unwrap_or(0);
    let mut live = vec![0usize; steps];
    for b in buffers {
        for l in live.iter_mut().take(b.last.saturating_add(1)).skip(b.first) {
            *l = l.saturating_add(align_to(b.size, align));
        }
    }
    live.into_iter().max().unwrap_or(0)
}

/// Greedy by size in one arena: the largest buffers are placed first, each at the lowest
/// offset that does not collide with an already placed buffer whose lifetime overlaps its own.
/// Every buffer starts at, and occupies a multiple of, [`ALIGN`] bytes.
pub fn place(buffers: &[Lifetime]) -> Placement {
    let padded: Vec<Lifetime> = buffers
        .iter()
        .map(|b| Lifetime {
            size: align(b.size),
            ..*b
        })
        .collect();
    let arenas = greedy_by_size(&padded, ALIGN, usize::MAX);
    Placement {
        offsets: arenas.slots.iter().map(|s| s.offset).collect(),
        arena_bytes: arenas.arena_bytes.first().copied().unwrap_or(0),
        lower_bound_bytes: live_peak(buffers, ALIGN),
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

    fn assert_disjoint(bufs: &[Lifetime], a: &Arenas) {
        for i in 0..bufs.len() {
            for j in 0..i {
                let (si, sj) = (a.slots[i], a.slots[j]);
                if si.arena == sj.arena && alive_together(&bufs[i], &bufs[j]) {
                    let ri = (si.offset, si.offset + bufs[i].size);
                    let rj = (sj.offset, sj.offset + bufs[j].size);
                    assert!(!overlaps(ri, rj), "{i} and {j} overlap");
                }
            }
        }
        for (b, s) in bufs.iter().zip(&a.slots) {
            assert!(s.offset + b.size <= a.arena_bytes[s.arena]);
        }
    }

    #[test]
    fn offsets_are_aligned_and_arenas_split_at_the_capacity() {
        let life = |size, first, last| Lifetime { size, first, last };
        // A chain (each alive with the next) plus one tensor alive throughout.
        let bufs = [
            life(300, 0, 1),
            life(200, 1, 2),
            life(300, 2, 3),
            life(8, 0, 3),
            life(6, 3, 3),
        ];
        let one = place_in_arenas(&bufs, 256, usize::MAX).unwrap();
        assert_eq!(one.arena_bytes.len(), 1);
        assert!(one.slots.iter().all(|s| s.offset % 256 == 0));
        assert_disjoint(&bufs, &one);
        // 300 + 8 + 200 live together at most: with 256-byte offsets, 1024 bytes are needed.
        assert_eq!(live_peak(&bufs, 4), 300 + 200 + 8);
        let split = place_in_arenas(&bufs, 256, 600).unwrap();
        assert!(split.arena_bytes.len() > 1);
        assert!(split.arena_bytes.iter().all(|&b| b <= 600));
        assert!(split.slots.iter().all(|s| s.offset % 256 == 0));
        assert_disjoint(&bufs, &split);
        let err = place_in_arenas(&bufs, 256, 250).unwrap_err();
        assert_eq!((err.index, err.bytes, err.capacity), (0, 300, 250));
    }
}

//! Which partitions a worker reads: partition p belongs to global worker p mod (processes × workers),
//! assigned explicitly (no consumer-group rebalancing, ARCHITECTURE.md, "Windows and watermarks").

/// The partitions of `0..partitions` that global worker `worker` of `peers` reads.
pub fn partitions_of(worker: usize, peers: usize, partitions: u32) -> Vec<i32> {
    (0..partitions as i32)
        .filter(|p| *p as usize % peers == worker)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_go_round_robin_and_extra_workers_get_none() {
        assert_eq!(partitions_of(0, 1, 3), [0, 1, 2]);
        assert_eq!(partitions_of(1, 4, 8), [1, 5]);
        assert_eq!(partitions_of(3, 4, 2), Vec::<i32>::new());
        let all: Vec<i32> = (0..4).flat_map(|w| partitions_of(w, 4, 10)).collect();
        assert_eq!(all.len(), 10);
    }
}

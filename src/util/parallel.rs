//! Independent jobs side by side, each on one thread of its own.
//!
//! Why: on the small models and batches of MSR Action3D and PKU-MMD (batch 16, ST-GCN's 64-256 channels), splitting
//! every tensor op over threads costs more than it gains: waking, joining and (candle's element-wise pool) busy
//! waiting. Measured on the 2-core machine, idle: STAR 10 epochs on msr3 took 15.2 s wall and 24.6 s of CPU on two
//! threads per op, 13.9 s and 13.9 s on one; pretraining 4 epochs on msr1 7.9 s (13.4 s CPU) against 10.7 s. So two
//! such jobs, each on one thread, do twice the work in about the time one took. The results do not depend on the
//! thread count (matrix products are split by output blocks, never along a sum, and skelzero's own kernels add their
//! parts in a fixed order): the weights of both runs above were byte-identical. Running jobs side by side changes
//! only the time.
//!
//! Each job's ops must run on one thread for this to pay: the process sets that up at start (`configure_threads`
//! with one thread per op), and each worker here runs its jobs inside a one-thread rayon pool of its own, so the
//! parallel loops of one job never queue behind another's.

use std::collections::VecDeque;
use std::sync::Mutex;

/// A job for [`side_by_side`].
pub type Job<'a, T> = Box<dyn FnOnce() -> T + Send + 'a>;

/// Runs `jobs` on `workers` threads and returns their results in the jobs' order. Jobs start in decreasing
/// `cost(index)` (ties in the jobs' order), so the last to start is a short one. With one worker (or one job) they
/// run here, one after the other in that order, on the process's own thread pool.
pub fn side_by_side<'a, T: Send>(
    jobs: Vec<Job<'a, T>>,
    cost: impl Fn(usize) -> u64,
    workers: usize,
) -> Vec<T> {
    let n = jobs.len();
    let mut queue: VecDeque<(usize, Job<'a, T>)> = jobs.into_iter().enumerate().collect();
    // Stable: equal costs keep the jobs' order.
    queue
        .make_contiguous()
        .sort_by_key(|(i, _)| std::cmp::Reverse(cost(*i)));
    let mut done: Vec<(usize, T)> = if workers <= 1 || n <= 1 {
        queue.into_iter().map(|(i, job)| (i, job())).collect()
    } else {
        let queue = Mutex::new(queue);
        let next = || {
            queue
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .pop_front()
        };
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers.min(n))
                .map(|_| {
                    scope.spawn(|| {
                        // A pool that fails to build (no thread to spare) leaves the job on this worker's thread.
                        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().ok();
                        let mut out = Vec::new();
                        while let Some((i, job)) = next() {
                            out.push((
                                i,
                                match &pool {
                                    Some(pool) => pool.install(job),
                                    None => job(),
                                },
                            ));
                        }
                        out
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        })
    };
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, t)| t).collect()
}

/// Worker threads for side-by-side jobs on this machine: one per core.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_the_jobs_order_whatever_finishes_first() {
        for workers in [1, 2, 3, 8] {
            let jobs: Vec<Job<'_, usize>> = (0..7usize)
                .map(|i| {
                    Box::new(move || {
                        // Early jobs sleep longest, so later ones finish first on several workers.
                        std::thread::sleep(std::time::Duration::from_millis(5 * (7 - i as u64)));
                        i * 10
                    }) as Job<'_, usize>
                })
                .collect();
            // Costs that reverse the start order must not reorder the results.
            assert_eq!(
                side_by_side(jobs, |i| i as u64, workers),
                vec![0, 10, 20, 30, 40, 50, 60]
            );
        }
    }

    #[test]
    fn jobs_start_costliest_first_ties_in_order() {
        let started = Mutex::new(Vec::new());
        let jobs: Vec<Job<'_, ()>> = (0..5usize)
            .map(|i| {
                let started = &started;
                Box::new(move || started.lock().unwrap().push(i)) as Job<'_, ()>
            })
            .collect();
        let cost = [1, 5, 1, 9, 5];
        side_by_side(jobs, |i| cost[i], 1);
        assert_eq!(started.into_inner().unwrap(), vec![3, 1, 4, 0, 2]);
    }

    #[test]
    fn each_worker_runs_its_jobs_on_a_one_thread_pool() {
        let jobs: Vec<Job<'_, usize>> = (0..4)
            .map(|_| Box::new(rayon::current_num_threads) as Job<'_, usize>)
            .collect();
        assert_eq!(side_by_side(jobs, |_| 0, 2), vec![1; 4]);
    }
}

// SPDX-License-Identifier: GPL-2.0
//! A worker pool: W threads pull jobs from one buffered kchan channel and
//! put results on another; main checks that every result arrives exactly
//! once.
//!
//! ```text
//! producer --jobs (cap 8)--> worker 0..W-1 --results (cap 8)--> main
//! ```
//!
//! Go's pattern, with kchan's close() for Go's: the producer closes `jobs`
//! after the last job, so each worker's read returns 0 (EOF) once the jobs
//! are drained; when every worker has finished, a thread closes `results`,
//! so main's read returns 0 after the last result.
//!
//! Usage: workers [WORKERS [JOBS]] (default 4 and 200).

use std::io::{self, Read};
use std::process::exit;
use std::thread;

fn producer(jobs: &str, njobs: u64) -> io::Result<()> {
    let out = kchan::open(jobs, true)?;
    for j in 0..njobs {
        kchan::send_num(&out, j)?; // blocks while 8 jobs are queued
    }
    kchan::close(&out) // close(jobs)
}

fn worker(jobs: &str, results: &str, w: usize) -> io::Result<()> {
    // Each worker has its own files, as separate processes would.
    let input = kchan::open(jobs, false)?;
    let out = kchan::open(results, true)?;
    // Each read takes one job; each job goes to exactly one worker.
    while let Some(j) = kchan::recv_num(&input)? {
        kchan::send(&out, format!("{j} {} {w}\n", j * j).as_bytes())?;
    }
    Ok(())
}

/// A thread that fails ends the program, as log.Fatal would in Go: the
/// others would otherwise wait for ever.
fn or_exit<T>(r: io::Result<T>) -> T {
    r.unwrap_or_else(|e| {
        eprintln!("workers: {e}");
        exit(1)
    })
}

fn run(nworkers: usize, njobs: u64) -> io::Result<bool> {
    let jobs = format!("rs-workers{}-jobs", std::process::id());
    let results = format!("rs-workers{}-results", std::process::id());
    kchan::create(&jobs, 8, 64, 0)?;
    kchan::create(&results, 8, 64, 0)?;
    let mut input = kchan::open(&results, false)?;

    let mut seen = vec![0u32; njobs as usize];
    let mut by_worker = vec![0u32; nworkers];
    let mut ok = true;
    thread::scope(|s| -> io::Result<()> {
        s.spawn(|| or_exit(producer(&jobs, njobs)));
        let workers: Vec<_> = (0..nworkers)
            .map(|w| {
                let (jobs, results) = (&jobs, &results);
                s.spawn(move || or_exit(worker(jobs, results, w)))
            })
            .collect();
        s.spawn(|| {
            for w in workers {
                w.join().unwrap();
            }
            or_exit(kchan::close_name(&results)); // close(results)
        });

        let mut buf = [0u8; 64];
        loop {
            let len = input.read(&mut buf)?;
            if len == 0 {
                return Ok(()); // EOF: results closed, every worker is done
            }
            let msg = String::from_utf8_lossy(&buf[..len]);
            let f: Vec<u64> = msg
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            match f[..] {
                [j, square, w] if j < njobs && square == j * j && (w as usize) < nworkers => {
                    seen[j as usize] += 1;
                    by_worker[w as usize] += 1;
                }
                _ => {
                    eprintln!("FAIL: bad result {msg:?}");
                    ok = false;
                }
            }
        }
    })?;
    drop(input);
    kchan::destroy(&jobs)?;
    kchan::destroy(&results)?;
    for (j, &count) in seen.iter().enumerate() {
        if count != 1 {
            eprintln!("FAIL: job {j} seen {count} times");
            ok = false;
        }
    }
    if ok {
        println!("ok: {njobs} results, each exactly once (per worker: {by_worker:?})");
    }
    Ok(ok)
}

/// Argument i as a positive number, or the default.
fn arg(i: usize, default: u64) -> u64 {
    match std::env::args().nth(i).map(|s| s.parse()) {
        None => default,
        Some(Ok(n)) if n > 0 => n,
        _ => {
            eprintln!("usage: workers [WORKERS [JOBS]]");
            exit(2);
        }
    }
}

fn main() {
    match run(arg(1, 4) as usize, arg(2, 200)) {
        Ok(true) => {}
        Ok(false) => exit(1),
        Err(e) => {
            eprintln!("workers: {e}");
            exit(1);
        }
    }
}

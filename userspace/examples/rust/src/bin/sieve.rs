// SPDX-License-Identifier: GPL-2.0
//! Go's concurrent prime sieve with kchan channels for Go channels and
//! threads for goroutines:
//!
//! ```text
//! generator --ch0--> filter 0 --ch1--> filter 1 --> ... --> filter N-1
//!                       \________________\____ primes ________\--> main
//! ```
//!
//! Filter i takes the first number on its input as its prime p, reports it
//! on `primes`, creates ch(i+1), starts filter i+1 and forwards every number
//! not divisible by p.  Shutdown is close() running upstream: main closes the
//! last filter's input; the write blocked on it fails with EPIPE, so that
//! filter closes its own input, and so on up to the generator.
//!
//! Usage: sieve [N] (default 25).  Checks the output; exits 1 on a mismatch.

use std::io::{self, ErrorKind};
use std::process::exit;
use std::thread;

const MSG_MAX: u32 = 32;

/// Channel i of the pipeline; threads share the process id, so the names.
fn ch(i: usize) -> String {
    format!("rs-sieve{}-{i}", std::process::id())
}

fn primes_name() -> String {
    format!("rs-sieve{}-primes", std::process::id())
}

fn generator() -> io::Result<()> {
    let out = kchan::open(&ch(0), true)?;
    for n in 2.. {
        // Unbuffered: the write returns once filter 0 has taken n.
        match kchan::send_num(&out, n) {
            Err(e) if e.kind() == ErrorKind::BrokenPipe => break, // ch0 closed: done
            r => r?,
        }
    }
    Ok(())
}

fn filter(i: usize, nprimes: usize) -> io::Result<()> {
    let input = kchan::open(&ch(i), false)?;
    let p = match kchan::recv_num(&input)? {
        Some(p) => p,
        None => return Ok(()), // closed before the first number
    };
    kchan::send_num(&kchan::open(&primes_name(), true)?, p)?;
    if i + 1 == nprimes {
        return Ok(()); // the last one: main closes our input
    }

    kchan::create(&ch(i + 1), 0, MSG_MAX, 0)?;
    let next = go(move || filter(i + 1, nprimes));
    let out = kchan::open(&ch(i + 1), true)?;
    loop {
        let n = match kchan::recv_num(&input)? {
            Some(n) => n,
            None => {
                kchan::close(&out)?; // EOF: upstream closed, pass it on
                break;
            }
        };
        if n % p == 0 {
            continue;
        }
        match kchan::send_num(&out, n) {
            Err(e) if e.kind() == ErrorKind::BrokenPipe => {
                // Downstream closed: close our input, so upstream ends too.
                kchan::close_name(&ch(i))?;
                break;
            }
            r => r?,
        }
    }
    next.join().unwrap();
    Ok(())
}

/// Runs f on a thread, like a goroutine; an error ends the program, as
/// log.Fatal would in Go (main would otherwise wait for ever).
fn go(f: impl FnOnce() -> io::Result<()> + Send + 'static) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        if let Err(e) = f() {
            eprintln!("sieve: {e}");
            exit(1);
        }
    })
}

fn first_primes(n: usize) -> Vec<u64> {
    (2u64..)
        .filter(|&c| (2..).take_while(|d| d * d <= c).all(|d| c % d != 0))
        .take(n)
        .collect()
}

fn run(nprimes: usize) -> io::Result<Vec<u64>> {
    kchan::create(&primes_name(), 0, MSG_MAX, 0)?;
    kchan::create(&ch(0), 0, MSG_MAX, 0)?;
    let primes = kchan::open(&primes_name(), false)?;
    let gen = go(generator);
    let f0 = go(move || filter(0, nprimes));

    let mut got = Vec::new();
    while got.len() < nprimes {
        match kchan::recv_num(&primes)? {
            Some(p) => {
                println!("{p}");
                got.push(p);
            }
            None => break,
        }
    }
    kchan::close_name(&ch(nprimes - 1))?; // starts the shutdown
    gen.join().unwrap();
    f0.join().unwrap();
    drop(primes);
    kchan::destroy(&primes_name())?;
    for i in 0..nprimes {
        kchan::destroy(&ch(i))?;
    }
    Ok(got)
}

fn main() {
    let nprimes = match std::env::args().nth(1).map(|s| s.parse()) {
        None => 25,
        Some(Ok(n)) if n >= 1 => n,
        _ => {
            eprintln!("usage: sieve [N]");
            exit(2);
        }
    };
    match run(nprimes) {
        Ok(got) if got == first_primes(nprimes) => {
            println!("ok: the first {nprimes} primes through {nprimes} filter threads")
        }
        Ok(got) => {
            eprintln!("FAIL: got {got:?}, want {:?}", first_primes(nprimes));
            exit(1);
        }
        Err(e) => {
            eprintln!("sieve: {e}");
            exit(1);
        }
    }
}

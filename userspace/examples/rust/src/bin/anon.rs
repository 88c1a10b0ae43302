// SPDX-License-Identifier: GPL-2.0
//! Anonymous kchan channels, Go's `make(chan T)` in the kernel: `kchan::make`
//! returns a `File` on a channel without a name, so nothing appears in
//! /dev/chan, and the channel goes with its last fd.
//!
//! ```text
//! main --c0--> stage 0 --c1--> stage 1 --> ... stage S-1 --cS--> main
//! ```
//!
//! Each stage is a thread that adds 1 to every number; it reads through a
//! `try_clone` (a dup) of the file the stage before writes to.  Checks the
//! output; exits 1 on a mismatch.
//!
//! Usage: anon [STAGES [COUNT]] (default 8 stages, 1000 numbers).

use std::fs::File;
use std::io;
use std::process::exit;
use std::thread;

const MSG_MAX: u32 = 32;

fn stage(input: File, output: File) -> io::Result<()> {
    while let Some(n) = kchan::recv_num(&input)? {
        kchan::send_num(&output, n + 1)?;
    }
    kchan::close(&output) // Go's close, passed downstream
}

fn entries() -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    for e in std::fs::read_dir(kchan::DEV_DIR)? {
        names.push(e?.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

fn run(stages: usize, count: u64) -> io::Result<String> {
    let before = entries()?;
    let mut chans = Vec::new();
    for _ in 0..=stages {
        chans.push(kchan::make(0, MSG_MAX, 0)?); // unbuffered, as make(chan u64)
    }
    let mut threads = Vec::new();
    for i in 0..stages {
        let input = chans[i].try_clone()?;
        let output = chans[i + 1].try_clone()?;
        threads.push(thread::spawn(move || stage(input, output)));
    }
    let first = chans[0].try_clone()?;
    let last = chans[stages].try_clone()?;
    drop(chans); // every stage has its own files now
    let feeder = thread::spawn(move || -> io::Result<()> {
        for n in 0..count {
            kchan::send_num(&first, n)?;
        }
        kchan::close(&first)
    });
    let mut got = Vec::new();
    while let Some(n) = kchan::recv_num(&last)? {
        got.push(n);
    }
    for t in threads.into_iter().chain(std::iter::once(feeder)) {
        t.join().expect("a stage panicked")?;
    }
    let want: Vec<u64> = (0..count).map(|n| n + stages as u64).collect();
    if got != want {
        return Err(io::Error::new(
            io::ErrorKind::Other,
            format!("got {} numbers, want {count} (first {:?})", got.len(), &got[..got.len().min(5)]),
        ));
    }
    drop(last);
    let after = entries()?;
    if after != before {
        return Err(io::Error::new(
            io::ErrorKind::Other,
            format!("/dev/chan changed: {before:?} -> {after:?}"),
        ));
    }
    Ok(format!(
        "anon: {count} numbers through {stages} anonymous channels and threads, no name in /dev/chan"
    ))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let parse = |i: usize, default: u64| -> u64 {
        match args.get(i).map(|s| s.parse::<u64>()) {
            None => default,
            Some(Ok(v)) if v > 0 => v,
            _ => {
                eprintln!("usage: anon [STAGES [COUNT]]");
                exit(2)
            }
        }
    };
    let (stages, count) = (parse(1, 8) as usize, parse(2, 1000));
    match run(stages, count) {
        Ok(msg) => println!("{msg}"),
        Err(e) => {
            eprintln!("anon: {e}");
            exit(1)
        }
    }
}

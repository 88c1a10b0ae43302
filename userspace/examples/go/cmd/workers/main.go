// SPDX-License-Identifier: GPL-2.0

// Command workers is a worker pool: W goroutines pull jobs from one
// buffered kchan channel and put results on another; main checks that every
// result arrives exactly once.
//
//	producer --jobs (cap 8)--> worker 0..W-1 --results (cap 8)--> main
//
// It is Go's pattern, with kchan.CloseName for close(): the producer closes
// jobs after the last job, so each worker's Read returns io.EOF once the
// jobs are drained; a goroutine waits for the workers and closes results, so
// main's Read returns io.EOF after the last result.
//
// Usage: workers [WORKERS [JOBS]] (default 4 and 200).
package main

import (
	"fmt"
	"io"
	"log"
	"os"
	"strconv"
	"sync"

	"kchan/examples/kchan"
)

var (
	jobsName    = fmt.Sprintf("go-workers%d-jobs", os.Getpid())
	resultsName = fmt.Sprintf("go-workers%d-results", os.Getpid())
)

func open(name string, flag int) *os.File {
	f, err := kchan.Open(name, flag)
	if err != nil {
		log.Fatal(err)
	}
	return f
}

func producer(njobs int) {
	jobs := open(jobsName, os.O_WRONLY)
	defer jobs.Close()
	for j := 0; j < njobs; j++ {
		// Fprintf makes one Write: one message.  Blocks while 8 are queued.
		if _, err := fmt.Fprintf(jobs, "%d\n", j); err != nil {
			log.Fatal(err)
		}
	}
	if err := kchan.Close(jobs); err != nil { // close(jobs)
		log.Fatal(err)
	}
}

// worker opens its own files: reads (and writes) through one *os.File are
// serialised by the os package, so sharing one would queue the workers in
// Go instead of in the channel.
func worker(w int) {
	jobs := open(jobsName, os.O_RDONLY)
	defer jobs.Close()
	results := open(resultsName, os.O_WRONLY)
	defer results.Close()
	buf := make([]byte, 64)
	for {
		n, err := jobs.Read(buf) // one job; each job goes to exactly one worker
		if err == io.EOF {
			return
		} else if err != nil {
			log.Fatal(err)
		}
		j, err := strconv.Atoi(string(buf[:n-1]))
		if err != nil {
			log.Fatal(err)
		}
		if _, err := fmt.Fprintf(results, "%d %d %d\n", j, j*j, w); err != nil {
			log.Fatal(err)
		}
	}
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		log.Fatalf("usage: workers [WORKERS [JOBS]]")
	}
	return n
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("workers: ")
	nworkers, njobs := 4, 200
	if len(os.Args) > 1 {
		nworkers = atoi(os.Args[1])
	}
	if len(os.Args) > 2 {
		njobs = atoi(os.Args[2])
	}
	for _, name := range []string{jobsName, resultsName} {
		if err := kchan.Create(name, 8, 64, 0); err != nil {
			log.Fatal(err)
		}
	}
	results := open(resultsName, os.O_RDONLY)

	go producer(njobs)
	var wg sync.WaitGroup
	for w := 0; w < nworkers; w++ {
		wg.Add(1)
		go func(w int) { worker(w); wg.Done() }(w)
	}
	go func() {
		wg.Wait()
		if err := kchan.CloseName(resultsName); err != nil { // close(results)
			log.Fatal(err)
		}
	}()

	seen := make([]int, njobs)
	byWorker := make([]int, nworkers)
	buf := make([]byte, 64)
	ok := true
	for {
		n, err := results.Read(buf)
		if err == io.EOF {
			break
		} else if err != nil {
			log.Fatal(err)
		}
		var j, square, w int
		if _, err := fmt.Sscan(string(buf[:n]), &j, &square, &w); err != nil ||
			j < 0 || j >= njobs || w < 0 || w >= nworkers || square != j*j {
			log.Printf("FAIL: bad result %q", buf[:n])
			ok = false
			continue
		}
		seen[j]++
		byWorker[w]++
	}
	results.Close()
	for _, name := range []string{jobsName, resultsName} {
		if err := kchan.Destroy(name); err != nil {
			log.Fatal(err)
		}
	}
	for j, c := range seen {
		if c != 1 {
			log.Printf("FAIL: job %d seen %d times", j, c)
			ok = false
		}
	}
	if !ok {
		os.Exit(1)
	}
	fmt.Printf("ok: %d results, each exactly once (per worker: %v)\n", njobs, byWorker)
}

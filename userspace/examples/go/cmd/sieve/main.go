// SPDX-License-Identifier: GPL-2.0

// Command sieve is Go's concurrent prime sieve with kchan channels in place
// of Go channels, and goroutines for the generator and the filters:
//
//	generator --ch0--> filter 0 --ch1--> filter 1 --> ... --> filter N-1
//	                      \________________\____ primes ________\--> main
//
// Filter i takes the first number on its input as its prime p, reports it
// on primes, creates ch(i+1), starts filter i+1 and forwards every number
// not divisible by p.  Shutdown is close() running upstream: main closes the
// last filter's input; the Write blocked on it fails with EPIPE, so that
// filter closes its own input, and so on up to the generator.
//
// Usage: sieve [N] (default 25).  It checks the output and exits 1 on a
// mismatch.
package main

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"reflect"
	"strconv"
	"sync"
	"syscall"

	"kchan/examples/kchan"
)

const msgMax = 32

var prefix = fmt.Sprintf("go-sieve%d", os.Getpid())

func ch(i int) string { return fmt.Sprintf("%s-%d", prefix, i) }

var primesName = prefix + "-primes"

func send(f *os.File, n int) error {
	_, err := f.Write([]byte(strconv.Itoa(n) + "\n")) // one Write, one message
	return err
}

// recv returns the next number, or io.EOF once the channel is closed and drained.
func recv(f *os.File) (int, error) {
	buf := make([]byte, msgMax)
	n, err := f.Read(buf) // one Read, one whole message
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(string(buf[:n-1]))
}

func open(name string, flag int) *os.File {
	f, err := kchan.Open(name, flag)
	if err != nil {
		log.Fatal(err)
	}
	return f
}

func generator() {
	out := open(ch(0), os.O_WRONLY)
	defer out.Close()
	for n := 2; ; n++ {
		// Unbuffered: Write returns once filter 0 has taken the number.
		if err := send(out, n); errors.Is(err, syscall.EPIPE) {
			return // filter 0 closed ch0: done
		} else if err != nil {
			log.Fatal(err)
		}
	}
}

func filter(i, nprimes int, wg *sync.WaitGroup) {
	defer wg.Done()
	in := open(ch(i), os.O_RDONLY)
	defer in.Close()
	p, err := recv(in)
	if err == io.EOF {
		return // closed before the first number
	} else if err != nil {
		log.Fatal(err)
	}
	primes := open(primesName, os.O_WRONLY)
	if err := send(primes, p); err != nil {
		log.Fatal(err)
	}
	primes.Close()
	if i+1 == nprimes {
		return // the last one: main closes our input
	}

	if err := kchan.Create(ch(i+1), 0, msgMax, 0); err != nil {
		log.Fatal(err)
	}
	wg.Add(1)
	go filter(i+1, nprimes, wg)
	out := open(ch(i+1), os.O_WRONLY)
	defer out.Close()
	for {
		n, err := recv(in)
		if err == io.EOF { // upstream closed: pass it on
			kchan.Close(out)
			return
		} else if err != nil {
			log.Fatal(err)
		}
		if n%p == 0 {
			continue
		}
		if err := send(out, n); errors.Is(err, syscall.EPIPE) {
			// Downstream closed: close our input, so upstream ends too.
			if err := kchan.CloseName(ch(i)); err != nil {
				log.Fatal(err)
			}
			return
		} else if err != nil {
			log.Fatal(err)
		}
	}
}

func firstPrimes(n int) []int {
	var found []int
	for c := 2; len(found) < n; c++ {
		prime := true
		for d := 2; d*d <= c; d++ {
			if c%d == 0 {
				prime = false
				break
			}
		}
		if prime {
			found = append(found, c)
		}
	}
	return found
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("sieve: ")
	nprimes := 25
	if len(os.Args) > 1 {
		var err error
		if nprimes, err = strconv.Atoi(os.Args[1]); err != nil || nprimes < 1 {
			log.Fatalf("usage: sieve [N]")
		}
	}
	for _, name := range []string{primesName, ch(0)} {
		if err := kchan.Create(name, 0, msgMax, 0); err != nil {
			log.Fatal(err)
		}
	}
	primes := open(primesName, os.O_RDONLY)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { generator(); wg.Done() }()
	go filter(0, nprimes, &wg)

	var got []int
	for len(got) < nprimes {
		p, err := recv(primes)
		if err != nil {
			log.Fatal(err)
		}
		got = append(got, p)
		fmt.Println(p)
	}
	if err := kchan.CloseName(ch(nprimes - 1)); err != nil {
		log.Fatal(err)
	}
	wg.Wait() // every goroutine has seen the close
	primes.Close()
	for i := -1; i < nprimes; i++ {
		name := primesName
		if i >= 0 {
			name = ch(i)
		}
		if err := kchan.Destroy(name); err != nil {
			log.Fatal(err)
		}
	}
	if want := firstPrimes(nprimes); !reflect.DeepEqual(got, want) {
		log.Fatalf("FAIL: got %v, want %v", got, want)
	}
	fmt.Printf("ok: the first %d primes through %d filter goroutines\n", nprimes, nprimes)
}

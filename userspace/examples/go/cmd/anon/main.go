// SPDX-License-Identifier: GPL-2.0

// Command anon uses anonymous kchan channels, Go's make(chan T) in the
// kernel: kchan.Make returns an *os.File on a channel without a name, so
// nothing appears in /dev/chan, and the channel goes with its last fd.
//
//	main --c0--> stage 0 --c1--> stage 1 --> ... stage S-1 --cS--> main
//
// Each stage is a goroutine that adds 1 to every number; each reads through
// a dup of the fd that the stage before writes to.  Then one channel goes to
// a child process, this program run again, as its fd 3 (os/exec's
// ExtraFiles), as a pipe would.  It checks everything and exits 1 on a
// mismatch.
//
// Usage: anon [STAGES [COUNT]] (default 8 stages, 1000 numbers).
package main

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"reflect"
	"sort"
	"strconv"
	"syscall"

	"kchan/examples/kchan"
)

const msgMax = 32

func recv(f *os.File) (int, error) {
	buf := make([]byte, msgMax)
	n, err := f.Read(buf) // one Read, one whole message; io.EOF once closed and drained
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(string(buf[:n]))
}

func send(f *os.File, n int) error {
	_, err := f.Write([]byte(strconv.Itoa(n))) // one Write, one message
	return err
}

// dup gives the reading end its own *os.File (package os serialises the
// reads of one *os.File, and the writes).
func dup(f *os.File) *os.File {
	fd, err := syscall.Dup(int(f.Fd()))
	if err != nil {
		log.Fatal(err)
	}
	syscall.CloseOnExec(fd)
	return os.NewFile(uintptr(fd), f.Name())
}

func stage(in, out *os.File, errs chan<- error) {
	defer in.Close()
	defer out.Close()
	for {
		n, err := recv(in)
		if errors.Is(err, io.EOF) {
			errs <- kchan.Close(out) // Go's close, passed downstream
			return
		}
		if err == nil {
			err = send(out, n+1)
		}
		if err != nil {
			errs <- err
			return
		}
	}
}

func pipeline(stages, count int) error {
	chans := make([]*os.File, stages+1)
	for i := range chans {
		f, err := kchan.Make(0, msgMax, 0) // unbuffered, as make(chan int)
		if err != nil {
			return err
		}
		chans[i] = f
	}
	errs := make(chan error, stages+1)
	for i := 0; i < stages; i++ {
		go stage(dup(chans[i]), chans[i+1], errs)
	}
	last := dup(chans[stages])
	defer last.Close()
	go func() {
		defer chans[0].Close()
		for n := 0; n < count; n++ {
			if err := send(chans[0], n); err != nil {
				errs <- err
				return
			}
		}
		errs <- kchan.Close(chans[0])
	}()
	var got []int
	for {
		n, err := recv(last)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		got = append(got, n)
	}
	for i := 0; i <= stages; i++ {
		if err := <-errs; err != nil {
			return err
		}
	}
	want := make([]int, count)
	for i := range want {
		want[i] = i + stages
	}
	if !reflect.DeepEqual(got, want) {
		return fmt.Errorf("pipeline: got %d numbers, want %d (first %v)", len(got), count, got[:min(len(got), 5)])
	}
	return nil
}

func min(a, b int) int {
	if a < b {
		return a
	}
	return b
}

// child: the other end of throughExec, with the channel as fd 3.
func child() {
	f := os.NewFile(3, "kchan:anon")
	if err := send(f, 42); err != nil {
		log.Fatal(err)
	}
}

func throughExec() error {
	f, err := kchan.Make(1, msgMax, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	cmd := exec.Command("/proc/self/exe", "child")
	cmd.ExtraFiles = []*os.File{f} // fd 3 in the child, not close-on-exec there
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("child: %w", err)
	}
	n, err := recv(f)
	if err != nil {
		return err
	}
	if n != 42 {
		return fmt.Errorf("from the child: got %d, want 42", n)
	}
	return nil
}

func entries() []string {
	d, err := os.ReadDir(kchan.DevDir)
	if err != nil {
		log.Fatal(err)
	}
	var names []string
	for _, e := range d {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("anon: ")
	if len(os.Args) == 2 && os.Args[1] == "child" {
		child()
		return
	}
	stages, count := 8, 1000
	var err error
	if len(os.Args) > 1 {
		if stages, err = strconv.Atoi(os.Args[1]); err != nil || stages < 1 {
			log.Fatalf("usage: anon [STAGES [COUNT]]")
		}
	}
	if len(os.Args) > 2 {
		if count, err = strconv.Atoi(os.Args[2]); err != nil || count < 0 {
			log.Fatalf("usage: anon [STAGES [COUNT]]")
		}
	}
	before := entries()
	if err := pipeline(stages, count); err != nil {
		log.Fatal(err)
	}
	if err := throughExec(); err != nil {
		log.Fatal(err)
	}
	if after := entries(); !reflect.DeepEqual(before, after) {
		log.Fatalf("/dev/chan changed: %v -> %v", before, after)
	}
	fmt.Printf("anon: %d numbers through %d anonymous channels and goroutines, one channel to a child process, no name in /dev/chan\n",
		count, stages)
}

// Package simcmd is the scaffold every 'sportsconnect simulate PROVIDER'
// command shares: a flag set that prints the simulator's usage text, -h
// that is not an error, and fault tickers that stop with the command.
package simcmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"
)

// Flags returns the flag set of simulator name, whose usage prints usage
// (the text above "Flags:") and then the flags' defaults.
func Flags(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	return fs
}

// Parse parses args. help is true when -h or --help was given: the usage
// was printed and the command should return nil. A simulator takes flags
// only: an argument that is not a flag is refused (Go's flag package would
// stop there and silently ignore the flags after it).
func Parse(fs *flag.FlagSet, args []string) (help bool, err error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, nil
		}
		return false, err
	}
	if fs.NArg() > 0 {
		return false, fmt.Errorf("unexpected argument %q: a simulator takes flags only (-flag value)", fs.Arg(0))
	}
	return false, nil
}

// Every calls f every d until ctx ends, in its own goroutine. A d of zero
// or less (a fault flag left off) does nothing.
func Every(ctx context.Context, d time.Duration, f func()) {
	if d <= 0 {
		return
	}
	go func() {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				f()
			}
		}
	}()
}

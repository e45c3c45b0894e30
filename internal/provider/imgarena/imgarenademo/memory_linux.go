package imgarenademo

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
)

// raiseFileLimit makes sure RLIMIT_NOFILE allows need descriptors, raising
// the soft limit up to the hard limit if it must. It returns the soft limit
// in force and whether it raised it; a hard limit below need is ErrFileLimit
// (the soft limit is left at the hard limit).
func raiseFileLimit(need uint64) (limit uint64, raised bool, err error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, false, fmt.Errorf("reading RLIMIT_NOFILE: %w", err)
	}
	if rl.Cur >= need {
		return rl.Cur, false, nil
	}
	want := min(need, rl.Max)
	next := syscall.Rlimit{Cur: want, Max: rl.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &next); err != nil {
		return rl.Cur, false, fmt.Errorf("raising RLIMIT_NOFILE from %d to %d: %w", rl.Cur, want, err)
	}
	if want < need {
		return want, true, fmt.Errorf("%w: need %d descriptors, the hard limit is %d", ErrFileLimit, need, rl.Max)
	}
	return want, true, nil
}

// residentBytes returns VmRSS from /proc/self/status, or 0.
func residentBytes() int64 { return residentBytesOf("self") }

// residentBytesOf returns VmRSS of process pid ("self" or a number) from
// /proc/<pid>/status, or 0.
func residentBytesOf(pid string) int64 { return statusBytes(pid, "VmRSS:") }

// peakBytesOf returns VmHWM, the peak resident set, of process pid, or 0.
func peakBytesOf(pid string) int64 { return statusBytes(pid, "VmHWM:") }

// statusBytes returns the kB field named field of /proc/<pid>/status in
// bytes, or 0.
func statusBytes(pid, field string) int64 {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		rest, ok := bytes.CutPrefix(sc.Bytes(), []byte(field))
		if !ok {
			continue
		}
		f := bytes.Fields(rest) // "12345", "kB"
		if len(f) == 2 && string(f[1]) == "kB" {
			if kb, err := strconv.ParseInt(string(f[0]), 10, 64); err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

// childAttrs makes the simulator die with this process.
func childAttrs(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

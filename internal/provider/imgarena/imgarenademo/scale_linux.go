package imgarenademo

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
	"time"
)

// processCPU returns the CPU time this process has used so far, user plus
// system, over all its threads.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// clockTick is the unit of /proc/<pid>/stat's CPU times (USER_HZ, 100 on
// every Linux this runs on).
const clockTick = 10 * time.Millisecond

// processCPUOf returns the CPU time process pid has used so far (utime plus
// stime from /proc/<pid>/stat), or 0.
func processCPUOf(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	return statCPU(b)
}

// statCPU parses utime plus stime out of a /proc/<pid>/stat line: fields 14
// and 15, counted after the command name, which is in parentheses and may
// hold spaces.
func statCPU(stat []byte) time.Duration {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0
	}
	f := bytes.Fields(stat[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0
	}
	utime, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	stime, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(utime+stime) * clockTick
}

// cpuTicks are the machine's CPU times from /proc/stat's first line.
type cpuTicks struct{ busy, total int64 }

// machineTicks returns the machine's CPU times so far and its core count.
func machineTicks() (cpuTicks, int) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTicks{}, 0
	}
	lines := bytes.Split(b, []byte("\n"))
	cores := 0
	for _, l := range lines[1:] {
		if bytes.HasPrefix(l, []byte("cpu")) {
			cores++
		}
	}
	f := bytes.Fields(lines[0]) // cpu user nice system idle iowait irq softirq steal ...
	var t cpuTicks
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(string(v), 10, 64)
		t.total += n
		if i != 3 && i != 4 { // idle, iowait
			t.busy += n
		}
	}
	return t, cores
}

// busyShare is the share of the CPU time since before that was busy.
func (t cpuTicks) busyShare(before cpuTicks) float64 {
	if t.total <= before.total {
		return 0
	}
	return float64(t.busy-before.busy) / float64(t.total-before.total)
}

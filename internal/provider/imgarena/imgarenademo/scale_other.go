//go:build !linux

package imgarenademo

import "time"

// processCPU is unknown where it cannot be read the Linux way.
func processCPU() time.Duration { return 0 }

// processCPUOf is unknown without /proc.
func processCPUOf(int) time.Duration { return 0 }

// cpuTicks are unknown without /proc.
type cpuTicks struct{}

// machineTicks is unknown without /proc.
func machineTicks() (cpuTicks, int) { return cpuTicks{}, 0 }

func (cpuTicks) busyShare(cpuTicks) float64 { return 0 }

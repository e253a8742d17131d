package main

import (
	"time"

	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"

	"github.com/dockah/dockah/unitgen"
)

// serviceSettings are the directives a generated service has besides its
// sandbox (see unitgen's renderer: stopping and resources), as the
// properties of a transient unit, so that a container of dockah run stops
// and is limited as a defined one.
func serviceSettings(def *unitgen.Definition) []sd.Property {
	prop := func(name string, v any) sd.Property { return sd.Property{Name: name, Value: dbus.MakeVariant(v)} }
	timeout := def.Service.StopTimeout
	if timeout == 0 {
		timeout = unitgen.DefaultStopTimeout
	}
	props := []sd.Property{prop("TimeoutStopUSec", usec(timeout))}
	if def.Service.Restart != "" {
		props = append(props, prop("Restart", def.Service.Restart))
	}
	signal := def.Service.StopSignal
	if signal == "" {
		signal = "SIGTERM"
	}
	if n := unitgen.SignalNumber(signal); n > 0 {
		if signal != "SIGTERM" {
			props = append(props, prop("KillSignal", int32(n)))
		}
		// An end by the stop signal is a clean stop, as in a generated
		// unit: the status a shell gives, and death by the signal.
		type exitStatuses struct{ Statuses, Signals []int32 }
		success := exitStatuses{Statuses: []int32{int32(128 + n)}, Signals: []int32{}}
		if signal != "SIGTERM" {
			success.Signals = append(success.Signals, int32(n))
		}
		props = append(props, prop("SuccessExitStatus", success))
	}
	res := def.Resources
	for _, s := range []struct {
		name string
		v    uint64
	}{
		{"MemoryMax", res.MemoryMax}, {"MemoryHigh", res.MemoryHigh}, {"MemorySwapMax", res.MemorySwapMax},
		{"TasksMax", res.TasksMax}, {"CPUWeight", uint64(res.CPUWeight)}, {"IOWeight", uint64(res.IOWeight)},
	} {
		if s.v != 0 {
			// unitgen.Unlimited is systemd's infinity too.
			props = append(props, prop(s.name, s.v))
		}
	}
	if res.CPUQuota != 0 {
		// CPUQuota=150% is 1.5 s of CPU time per second.
		props = append(props, prop("CPUQuotaPerSecUSec", uint64(res.CPUQuota)*10000))
	}
	return props
}

func usec(d time.Duration) uint64 {
	if d == unitgen.Infinity {
		return ^uint64(0)
	}
	return uint64(d / time.Microsecond)
}

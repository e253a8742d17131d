package main

import (
	"github.com/dockah/dockah/bench/measure"

	"fmt"
	"time"
)

func quantile(ds []time.Duration, q float64) time.Duration { return measure.Quantile(ds, q) }

func median(ds []time.Duration) time.Duration { return measure.Quantile(ds, 0.5) }

// msf returns d in milliseconds.
func msf(d time.Duration) float64 { return measure.Millis(d) }

// ms formats a duration in milliseconds, "—" for none.
func ms(ds []time.Duration, q float64) string {
	if len(ds) == 0 {
		return "—"
	}
	d := msf(quantile(ds, q))
	if d < 10 {
		return fmt.Sprintf("%.2f ms", d)
	}
	return fmt.Sprintf("%.1f ms", d)
}

// ratio formats median(ds)/median(floor), "—" when either is missing.
func ratio(ds, floor []time.Duration) string {
	if len(ds) == 0 || len(floor) == 0 || median(floor) == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2fx", float64(median(ds))/float64(median(floor)))
}

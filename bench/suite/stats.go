package main

import (
	"fmt"
	"sort"
	"time"
)

// quantile returns the q-quantile of ds (nearest rank), 0 for none.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration{}, ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(q*float64(len(s)-1)+0.5)]
}

func median(ds []time.Duration) time.Duration { return quantile(ds, 0.5) }

// msf returns d in milliseconds.
func msf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

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

package kube

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Quantity suffixes of Kubernetes: binary (Ki...) and decimal (k, M...).
var quantitySuffixes = []struct {
	suffix string
	factor float64
}{
	{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40}, {"Pi", 1 << 50}, {"Ei", 1 << 60},
	{"k", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}, {"P", 1e15}, {"E", 1e18}, {"m", 1e-3},
}

const acceptQuantity = `a number with an optional suffix: Ki, Mi, Gi, Ti, Pi, Ei, k, M, G, T, P, E or m ("128Mi", "500m", "1.5")`

// value parses a quantity into a number (bytes, or cores for "cpu").
func (q Quantity) value() (float64, error) {
	s := strings.TrimSpace(string(q))
	factor := 1.0
	for _, sf := range quantitySuffixes {
		if num, ok := strings.CutSuffix(s, sf.suffix); ok {
			s, factor = num, sf.factor
			break
		}
	}
	// big.Float reads plain decimals and exponents (1e3) and nothing
	// else: no hex, no "Inf", no "NaN".
	f, ok := new(big.Float).SetString(s)
	if s == "" || !ok || strings.ContainsAny(s, "xXpP_") {
		return 0, fmt.Errorf("quantity %q: not a number (accepted: %s)", string(q), acceptQuantity)
	}
	v, _ := f.Float64()
	v *= factor
	if v < 0 || math.IsInf(v, 0) || v > math.MaxInt64 {
		return 0, fmt.Errorf("quantity %q: out of range", string(q))
	}
	return v, nil
}

// bytes parses a memory quantity into bytes, rounded up.
func (q Quantity) bytes() (uint64, error) {
	v, err := q.value()
	if err != nil {
		return 0, err
	}
	return uint64(math.Ceil(v)), nil
}

// cpuPercent parses a CPU quantity into percent of one CPU, at least 1.
func (q Quantity) cpuPercent() (int, error) {
	v, err := q.value()
	if err != nil {
		return 0, err
	}
	p := int(math.Ceil(v*100 - 1e-9))
	if p > 1_000_000 {
		return 0, fmt.Errorf("quantity %q: more CPUs than any host has", string(q))
	}
	return max(p, 1), nil
}

// memoryQuantity writes bytes the way people write them: "64Mi".
func memoryQuantity(n uint64) Quantity {
	for _, sf := range []struct {
		s string
		f uint64
	}{{"Ti", 1 << 40}, {"Gi", 1 << 30}, {"Mi", 1 << 20}, {"Ki", 1 << 10}} {
		if n >= sf.f && n%sf.f == 0 {
			return Quantity(strconv.FormatUint(n/sf.f, 10) + sf.s)
		}
	}
	return Quantity(strconv.FormatUint(n, 10))
}

// cpuQuantity writes a percentage of one CPU: 100 is "1", 50 is "500m".
func cpuQuantity(percent int) Quantity {
	if percent%100 == 0 {
		return Quantity(strconv.Itoa(percent / 100))
	}
	return Quantity(strconv.Itoa(percent*10) + "m")
}

package main

import (
	"fmt"
	"strconv"
)

// Sizes as podman prints them in stats and system df (docker/go-units):
// four significant digits, no space, powers of 1000 (decimalSize: "kB",
// "MB") or of 1024 (binarySize: "KiB", "MiB"). Other dockah tables keep
// humanSize ("1.5 MiB").
var (
	decimalUnits = []string{"B", "kB", "MB", "GB", "TB", "PB", "EB"}
	binaryUnits  = []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
)

// decimalSize is go-units' HumanSize: 3092000 is "3.092MB".
func decimalSize(n uint64) string { return scaledSize(float64(n), 1000, decimalUnits) }

// binarySize is go-units' BytesSize: 3092000 is "2.949MiB".
func binarySize(n uint64) string { return scaledSize(float64(n), 1024, binaryUnits) }

func scaledSize(size, base float64, units []string) string {
	i := 0
	for size >= base && i < len(units)-1 {
		size /= base
		i++
	}
	return strconv.FormatFloat(size, 'g', 4, 64) + units[i]
}

// percent prints a percentage with two decimals, "12.50%".
func percent(p float64) string { return fmt.Sprintf("%.2f%%", p) }

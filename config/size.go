package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// sizeUnits are the accepted suffixes: SI (powers of 1000) and IEC (powers of 1024).
var sizeUnits = map[string]int64{
	"":    1,
	"b":   1,
	"kb":  1000,
	"mb":  1000 * 1000,
	"gb":  1000 * 1000 * 1000,
	"tb":  1000 * 1000 * 1000 * 1000,
	"kib": 1 << 10,
	"mib": 1 << 20,
	"gib": 1 << 30,
	"tib": 1 << 40,
}

// ParseSize reads a byte count written as an integer ("1073741824") or an
// integer with a unit ("1GiB", "500MiB", "100MB", "64 KiB"); units are
// case-insensitive, KiB/MiB/GiB/TiB are powers of 1024, KB/MB/GB/TB of 1000.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	end := 0
	for end < len(t) && t[end] >= '0' && t[end] <= '9' {
		end++
	}
	unit, ok := sizeUnits[strings.ToLower(strings.TrimSpace(t[end:]))]
	if end == 0 || !ok {
		return 0, fmt.Errorf("must be a size in bytes (1073741824) or with a unit (1GiB, 500MiB, 100MB), got %q", s)
	}
	n, err := strconv.ParseInt(t[:end], 10, 64)
	if err != nil || n > math.MaxInt64/unit {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return n * unit, nil
}

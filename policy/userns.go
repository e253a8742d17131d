package policy

import (
	"bufio"
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// IDRange is a contiguous range of host user or group IDs: Start,
// Start+1, ..., Start+Size-1.
type IDRange struct {
	Start uint32 `json:"start"`
	Size  uint32 `json:"size"`
}

// end is one past the range's last ID, in 64 bits so that a range
// reaching 2^32-1 does not wrap.
func (r IDRange) end() uint64 { return uint64(r.Start) + uint64(r.Size) }

func (r IDRange) overlaps(o IDRange) bool {
	return uint64(r.Start) < o.end() && uint64(o.Start) < r.end()
}

// SubIDOwner is the /etc/subuid and /etc/subgid entry whose ranges dockah
// allocates containers' ranges from, as Podman's --userns=auto does.
const SubIDOwner = "containers"

// DefaultIDPool is used when /etc/subuid (or /etc/subgid) has no
// "containers" entry: systemd's range for container IDs (524288 to
// 1879048191, see systemd's docs/UIDS-GIDS.md), which no distribution
// gives to users or system services.
var DefaultIDPool = []IDRange{{Start: 0x80000, Size: 0x6FFFFFFF - 0x80000 + 1}}

// maxSubIDLines bounds what ParseSubIDs reads of a file.
const maxSubIDLines = 1 << 16

// ParseSubIDs returns the ranges /etc/subuid or /etc/subgid data gives
// owner ("NAME:START:COUNT" lines; # comments and blank lines skipped).
// A malformed line of another owner is ignored (it is not ours to
// judge); one of owner's is an error naming the line. Ranges that reach
// past 2^32-1 or include ID 0 are refused: the pool must never hand out
// host root.
func ParseSubIDs(data []byte, file, owner string) ([]IDRange, error) {
	var out []IDRange
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		if line > maxSubIDLines {
			return nil, fmt.Errorf("%s: more than %d lines", file, maxSubIDLines)
		}
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Split(text, ":")
		if fields[0] != owner {
			continue
		}
		if len(fields) != 3 {
			return nil, fmt.Errorf("%s:%d: %q: expected %s:START:COUNT", file, line, text, owner)
		}
		start, err1 := strconv.ParseUint(fields[1], 10, 32)
		size, err2 := strconv.ParseUint(fields[2], 10, 32)
		if err1 != nil || err2 != nil || size == 0 || start == 0 || start+size > 1<<32 {
			return nil, fmt.Errorf("%s:%d: %q: START and COUNT must be numbers, START at least 1 and START+COUNT at most 4294967296", file, line, text)
		}
		out = append(out, IDRange{Start: uint32(start), Size: uint32(size)})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return out, nil
}

// allocateRange returns the lowest start of size IDs inside one of the
// pool's ranges that overlaps none of taken (first fit), or false.
func allocateRange(pool, taken []IDRange, size uint32) (uint32, bool) {
	if size == 0 {
		return 0, false
	}
	sorted := slices.Clone(taken)
	slices.SortFunc(sorted, func(a, b IDRange) int { return int(int64(a.Start) - int64(b.Start)) })
	for _, p := range pool {
		candidate := uint64(p.Start)
		for _, t := range sorted {
			if t.end() <= candidate {
				continue
			}
			if uint64(t.Start) >= candidate+uint64(size) {
				break // the gap before t fits
			}
			candidate = t.end()
		}
		if candidate+uint64(size) <= p.end() {
			return uint32(candidate), true
		}
	}
	return 0, false
}

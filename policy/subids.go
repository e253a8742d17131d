package policy

import (
	"bufio"
	"bytes"
	"slices"
	"strconv"
	"strings"
)

// The pool of a host whose /etc/subuid (or /etc/subgid) has no
// "containers" entry: the largest span of DefaultIDPool that no other
// entry of the file overlaps. It is what `dockah system subids` writes as
// the entry (so that useradd, which skips the ranges a file already
// gives, never hands those IDs to a user afterwards), and what the shim
// uses until then: the same span either way, so a range allocated before
// the entry was written stays inside it.

// subIDRanges returns the ranges of every well-formed line of the file
// whose owner is not skip (malformed lines are not ours to judge).
func subIDRanges(data []byte, skip string) []IDRange {
	var out []IDRange
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan() && line <= maxSubIDLines; line++ {
		fields := strings.Split(strings.TrimSpace(sc.Text()), ":")
		if len(fields) != 3 || fields[0] == skip || strings.HasPrefix(fields[0], "#") {
			continue
		}
		start, err1 := strconv.ParseUint(fields[1], 10, 32)
		size, err2 := strconv.ParseUint(fields[2], 10, 32)
		if err1 != nil || err2 != nil || size == 0 {
			continue
		}
		if start+size > 1<<32 {
			size = 1<<32 - start
		}
		out = append(out, IDRange{Start: uint32(start), Size: uint32(size)})
	}
	return out
}

// FreeSpan returns the largest span of within that overlaps none of taken
// (the lowest of equal ones), or false when taken covers all of it.
func FreeSpan(within IDRange, taken []IDRange) (IDRange, bool) {
	sorted := slices.Clone(taken)
	slices.SortFunc(sorted, func(a, b IDRange) int { return int(int64(a.Start) - int64(b.Start)) })
	var best IDRange
	candidate := uint64(within.Start)
	consider := func(end uint64) {
		if end > within.end() {
			end = within.end()
		}
		if end > candidate && end-candidate > uint64(best.Size) {
			best = IDRange{Start: uint32(candidate), Size: uint32(end - candidate)}
		}
	}
	for _, t := range sorted {
		if t.end() <= candidate {
			continue
		}
		consider(uint64(t.Start))
		candidate = max(candidate, t.end())
	}
	consider(within.end())
	return best, best.Size > 0
}

// DefaultPoolFor is the pool of a file (data) without an entry for
// SubIDOwner: the largest span of DefaultIDPool no other entry overlaps;
// empty if there is none, and no range can be allocated.
func DefaultPoolFor(data []byte) []IDRange {
	span, ok := FreeSpan(DefaultIDPool[0], subIDRanges(data, SubIDOwner))
	if !ok {
		return nil
	}
	return []IDRange{span}
}

// WithSubIDEntry returns data with the line "owner:START:COUNT" of r
// appended, every byte of data kept (a last line without its newline
// gets one).
func WithSubIDEntry(data []byte, owner string, r IDRange) []byte {
	out := slices.Clip(data)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	return append(out, owner+":"+strconv.FormatUint(uint64(r.Start), 10)+":"+strconv.FormatUint(uint64(r.Size), 10)+"\n"...)
}

package policy

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"

	"github.com/opencontainers/selinux/go-selinux"
)

// sVirt labels. A container's processes run as
// system_u:system_r:container_t:s0:cX,cY and its files are labelled
// system_u:object_r:container_file_t:s0:cX,cY; the pair of categories
// (the MCS level) is what keeps one container out of another's files,
// since both share the types. The level is unique on the host (see
// MCSRegistry) and stable for a container across restarts.

// Default types of the container-selinux policy.
const (
	DefaultProcessType = "container_t"
	DefaultFileType    = "container_file_t"
)

// Volume relabel modes, the [[volume]] relabel key.
const (
	RelabelNone    = "none"    // leave the volume's label alone
	RelabelPrivate = "private" // the container's own level: only it can use the volume
	RelabelShared  = "shared"  // s0, no categories: every container can use it
)

// mcsCategories is the number of categories containers use, c0..c1023.
const mcsCategories = 1024

// SELinuxConfig is what a definition says about labels.
type SELinuxConfig struct {
	// Type is the process type; empty means container_t.
	Type string
	// Level is an MLS/MCS level such as "s0:c1,c2"; empty means a unique
	// pair from the registry.
	Level string
}

// Labels are the labels of one container.
type Labels struct {
	// Process is the exec label of the entrypoint.
	Process string
	// File labels the writable layer and private volumes; it is also the
	// mount label (context=) of the container's tmpfs mounts.
	File string
	// Level is the MCS level both share.
	Level string
}

// NewLabels composes the labels for a type and a level, both checked.
func NewLabels(processType, level string) (Labels, error) {
	if processType == "" {
		processType = DefaultProcessType
	}
	if !validType(processType) {
		return Labels{}, fmt.Errorf("selinux_type %q: want an SELinux type such as %s", processType, DefaultProcessType)
	}
	if _, err := parseLevel(level); err != nil {
		return Labels{}, err
	}
	return Labels{
		Process: formatLabel("system_u", "system_r", processType, level),
		File:    formatLabel("system_u", "object_r", DefaultFileType, level),
		Level:   level,
	}, nil
}

// formatLabel formats a label with the library's own Context.
func formatLabel(user, role, typ, level string) string {
	c, _ := selinux.NewContext(user + ":" + role + ":" + typ)
	if len(c) == 0 { // the library's stub build parses nothing
		return user + ":" + role + ":" + typ + ":" + level
	}
	c["level"] = level
	return c.Get()
}

// Volume returns the label a volume is given for a relabel mode, or ""
// when it keeps its own (RelabelNone or empty).
func (l Labels) Volume(relabel string) (string, error) {
	switch relabel {
	case "", RelabelNone:
		return "", nil
	case RelabelPrivate:
		return l.File, nil
	case RelabelShared:
		return formatLabel("system_u", "object_r", DefaultFileType, "s0"), nil
	}
	return "", fmt.Errorf("relabel %q: accepted: %s, %s, %s", relabel, RelabelNone, RelabelPrivate, RelabelShared)
}

func validType(t string) bool {
	if t == "" || len(t) > 128 {
		return false
	}
	for _, r := range t {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '_' {
			return false
		}
	}
	return true
}

// catSet is a set of categories c0..c1023.
type catSet [mcsCategories / 64]uint64

func (s *catSet) add(c int)     { s[c/64] |= 1 << (c % 64) }
func (s catSet) has(c int) bool { return s[c/64]&(1<<(c%64)) != 0 }
func (s catSet) empty() bool    { return s == catSet{} }
func (s catSet) subsetOf(o catSet) bool {
	for i := range s {
		if s[i]&^o[i] != 0 {
			return false
		}
	}
	return true
}

func (s catSet) len() int {
	n := 0
	for _, w := range s {
		n += bits.OnesCount64(w)
	}
	return n
}

// level is a parsed MLS range "low[-high]"; each part "sN[:cats]".
type level struct {
	low, high   int
	lowC, highC catSet
}

// parseLevel checks an MLS level or range: sensitivities s0..s15,
// categories c0..c1023 as a comma list of cN and cN.cM, and a high part
// that dominates the low one.
func parseLevel(s string) (level, error) {
	bad := func(why string) (level, error) {
		return level{}, fmt.Errorf("selinux_level %q: %s (want a level such as s0:c1,c2 or a range such as s0-s0:c0.c1023)", s, why)
	}
	lowS, highS, isRange := strings.Cut(s, "-")
	var l level
	var err error
	if l.low, l.lowC, err = parseLevelPart(lowS); err != nil {
		return bad(err.Error())
	}
	l.high, l.highC = l.low, l.lowC
	if isRange {
		if l.high, l.highC, err = parseLevelPart(highS); err != nil {
			return bad(err.Error())
		}
		if l.high < l.low || !l.lowC.subsetOf(l.highC) {
			return bad("the high level does not dominate the low one")
		}
	}
	return l, nil
}

func parseLevelPart(s string) (int, catSet, error) {
	var cats catSet
	sens, list, hasCats := strings.Cut(s, ":")
	n, err := strconv.Atoi(strings.TrimPrefix(sens, "s"))
	if !strings.HasPrefix(sens, "s") || err != nil || n < 0 || n > 15 || sens != "s"+strconv.Itoa(n) {
		return 0, cats, fmt.Errorf("bad sensitivity %q", sens)
	}
	if !hasCats {
		return n, cats, nil
	}
	for _, item := range strings.Split(list, ",") {
		from, to, isRange := strings.Cut(item, ".")
		a, err := parseCategory(from)
		if err != nil {
			return 0, cats, err
		}
		b := a
		if isRange {
			if b, err = parseCategory(to); err != nil {
				return 0, cats, err
			}
			if b <= a {
				return 0, cats, fmt.Errorf("category range %q is not ascending", item)
			}
		}
		for c := a; c <= b; c++ {
			cats.add(c)
		}
	}
	return n, cats, nil
}

func parseCategory(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(s, "c"))
	if !strings.HasPrefix(s, "c") || err != nil || n < 0 || n >= mcsCategories || s != "c"+strconv.Itoa(n) {
		return 0, fmt.Errorf("bad category %q (c0..c%d)", s, mcsCategories-1)
	}
	return n, nil
}

// pairLevel formats the level of a category pair.
func pairLevel(x, y int) string { return fmt.Sprintf("s0:c%d,c%d", x, y) }

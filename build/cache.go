package build

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strconv"
)

// cacheVersion changes when what a step makes changes for the same key,
// so that old cache entries are no longer found.
const cacheVersion = "dockah-build-1"

// Key is a step's cache key: the image it starts from, its instruction
// as written, the build ARGs in scope (which RUN sees and expansion
// uses) and, for COPY and ADD, the digest of the layer the files make.
// Each part is written with its length, so no two lists of parts give
// the same bytes.
func Key(parent, instruction string, args []string, content string) string {
	h := sha256.New()
	field := func(s string) {
		io.WriteString(h, strconv.Itoa(len(s)))
		io.WriteString(h, ":")
		io.WriteString(h, s)
	}
	field(cacheVersion)
	field(parent)
	field(instruction)
	field(strconv.Itoa(len(args)))
	for _, a := range args {
		field(a)
	}
	field(content)
	return hex.EncodeToString(h.Sum(nil))
}

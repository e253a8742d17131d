package build

import (
	"strconv"
	"strings"
)

// nop is how Docker's classic builder and Buildah start the history line
// of an instruction that runs nothing.
const nop = "/bin/sh -c #(nop) "

// configHistory is the history line of an instruction that changes the
// config only: the instruction as written.
func configHistory(code string) string { return nop + code }

// runHistory is RUN's history line: the ARGs in scope ("|2 A=1 B=2 ")
// and the command as run, as Docker's classic builder and Buildah write
// it.
func runHistory(args []string, argv []string) string {
	line := strings.Join(argv, " ")
	if len(args) == 0 {
		return line
	}
	return "|" + strconv.Itoa(len(args)) + " " + strings.Join(args, " ") + " " + line
}

// copyHistory is the history line of COPY or ADD: what was copied, by
// kind and digest (file:HEX, dir:HEX, multi:HEX), and where to.
func copyHistory(instr, from, what, dest string) string {
	if from != "" {
		instr += " --from=" + from
	}
	return nop + instr + " " + what + " in " + dest + " "
}

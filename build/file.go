package build

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// File is a parsed Containerfile: its stages in order and the ARGs before
// the first FROM.
type File struct {
	// Name is the file's name, for messages ("Containerfile", "-").
	Name string
	// Stages are the FROM sections, in order.
	Stages []instructions.Stage
	// MetaArgs are the ARG instructions before the first FROM: they
	// are in scope for FROM lines, and a stage's ARG NAME (without a
	// value) takes their value.
	MetaArgs []instructions.ArgCommand
	// Escape is the escape character (the escape= directive; '\' by
	// default), for variable expansion.
	Escape rune
	// Warnings are what the parser noticed but accepted.
	Warnings []string
}

// Parse parses a Containerfile with BuildKit's parser. An error names
// the line, as NAME:LINE: MESSAGE.
func Parse(name string, data []byte) (*File, error) {
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		return nil, locate(name, err)
	}
	stages, meta, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return nil, locate(name, err)
	}
	if len(stages) == 0 {
		return nil, fmt.Errorf("%s: no FROM instruction: a Containerfile starts with FROM (after ARGs and comments)", name)
	}
	f := &File{Name: name, Stages: stages, MetaArgs: meta, Escape: res.EscapeToken}
	for _, w := range res.Warnings {
		f.Warnings = append(f.Warnings, w.Short)
	}
	for _, s := range stages {
		for _, c := range s.Commands {
			if err := supported(c); err != nil {
				return nil, f.errorAt(c.Location(), err)
			}
		}
	}
	return f, nil
}

// supported refuses the instructions and flags parsed by BuildKit that
// dockah does not build, rather than ignoring them.
func supported(c instructions.Command) error {
	switch c := c.(type) {
	case *instructions.RunCommand:
		if len(c.FlagsUsed) > 0 {
			return fmt.Errorf("RUN --%s is not supported (RUN takes no flags in dockah build)", c.FlagsUsed[0])
		}
	case *instructions.CopyCommand:
		switch {
		case c.Link:
			return errors.New("COPY --link is not supported")
		case c.Parents:
			return errors.New("COPY --parents is not supported")
		case len(c.ExcludePatterns) > 0:
			return errors.New("COPY --exclude is not supported")
		}
	case *instructions.AddCommand:
		switch {
		case c.Link:
			return errors.New("ADD --link is not supported")
		case c.Checksum != "":
			return errors.New("ADD --checksum is not supported (ADD of URLs is not supported)")
		case len(c.ExcludePatterns) > 0:
			return errors.New("ADD --exclude is not supported")
		}
	case *instructions.EnvCommand:
		if c.Unset {
			return errors.New("ENV --unset is not supported")
		}
	case *instructions.LabelCommand:
		if c.Unset {
			return errors.New("LABEL --unset is not supported")
		}
	case *instructions.VolumeCommand:
		if c.Unset {
			return errors.New("VOLUME --unset is not supported")
		}
	}
	return nil
}

// StageIndex returns the index of the stage named name (case
// insensitive, as Docker), or of the stage numbered name.
func (f *File) StageIndex(name string) (int, bool) {
	if i, ok := instructions.HasStage(f.Stages, name); ok {
		return i, true
	}
	var n int
	if _, err := fmt.Sscanf(name, "%d", &n); err == nil && fmt.Sprint(n) == name && n >= 0 && n < len(f.Stages) {
		return n, true
	}
	return 0, false
}

// Line returns the first line of a location, 0 when unknown.
func Line(loc []parser.Range) int {
	if len(loc) == 0 {
		return 0
	}
	return loc[0].Start.Line
}

// errorAt prefixes err with the file and the line of loc.
func (f *File) errorAt(loc []parser.Range, err error) error {
	return &LineError{File: f.Name, Line: Line(loc), Err: err}
}

// LineError is an error of one instruction: it names the file and line.
type LineError struct {
	File string
	Line int
	Err  error
}

func (e *LineError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %v", e.File, e.Err)
	}
	return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
}

func (e *LineError) Unwrap() error { return e.Err }

// locate turns a BuildKit parse error into a LineError.
func locate(name string, err error) error {
	line := 0
	var le *parser.LocationError
	if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
		line = le.Locations[0][0].Start.Line
	}
	msg := err.Error()
	// BuildKit says "dockerfile parse error on line N: ..." itself.
	if i := strings.Index(msg, ": "); line != 0 && strings.HasPrefix(msg, "dockerfile parse error on line") && i > 0 {
		msg = msg[i+2:]
	}
	return &LineError{File: name, Line: line, Err: errors.New(msg)}
}

package build

import (
	"strings"
	"testing"
)

func TestParseNamesTheLineOfAnError(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{"FROM scratch\nFROBNICATE x\n", "Containerfile:2: unknown instruction: FROBNICATE"},
		{"FROM scratch\nENV\n", "Containerfile:2: ENV requires at least one argument"},
		{"FROM scratch\n\nRUN --mount=type=cache,target=/x true\n", "Containerfile:3: RUN --mount is not supported"},
		{"FROM scratch\nCOPY --link a /b\n", "Containerfile:2: COPY --link is not supported"},
		{"# nothing\nARG X=1\n", "Containerfile: no FROM instruction"},
		{"RUN true\n", "Containerfile:1:"},
	} {
		_, err := Parse("Containerfile", []byte(tc.file))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q...", tc.file, err, tc.want)
		}
	}
}

func TestParseStages(t *testing.T) {
	f, err := Parse("Containerfile", []byte("ARG BASE=scratch\nFROM $BASE AS build\nRUN true\nFROM build\nCOPY --from=build /a /b\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.MetaArgs) != 1 || len(f.Stages) != 2 || f.Stages[0].Name != "build" {
		t.Fatalf("got %d meta args, %d stages (%q)", len(f.MetaArgs), len(f.Stages), f.Stages[0].Name)
	}
	for name, want := range map[string]int{"build": 0, "BUILD": 0, "1": 1, "0": 0} {
		if i, ok := f.StageIndex(name); !ok || i != want {
			t.Errorf("StageIndex(%q) = %d, %v; want %d", name, i, ok, want)
		}
	}
	for _, name := range []string{"2", "other", "01"} {
		if _, ok := f.StageIndex(name); ok {
			t.Errorf("StageIndex(%q) found a stage", name)
		}
	}
}

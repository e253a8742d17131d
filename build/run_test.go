package build

import (
	"slices"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

func TestRunArgvAndHistory(t *testing.T) {
	var bash Image
	bash.Config.Shell = []string{"/bin/bash", "-o", "pipefail", "-c"}
	for _, tc := range []struct {
		img  Image
		line string
		want []string
	}{
		{Image{}, "RUN echo $HOME && true", []string{"/bin/sh", "-c", "echo $HOME && true"}},
		{bash, "RUN a | b", []string{"/bin/bash", "-o", "pipefail", "-c", "a | b"}},
		{Image{}, `RUN ["/bin/echo", "exec", "form"]`, []string{"/bin/echo", "exec", "form"}},
		{Image{}, "RUN <<EOF\necho one\necho two\nEOF", []string{"/bin/sh", "-c", "echo one\necho two\n"}},
		{Image{}, "RUN <<-EOF\n\techo tabs\n\tEOF", []string{"/bin/sh", "-c", "echo tabs\n"}},
		{Image{}, "RUN cat <<EOT > /f\nline\nEOT", []string{"/bin/sh", "-c", "cat <<EOT > /f\nline\nEOT"}},
	} {
		f, err := Parse("Containerfile", []byte("FROM scratch\n"+tc.line+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := runArgv(&tc.img, f.Stages[0].Commands[0].(*instructions.RunCommand))
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%q: %q, %v; want %q", tc.line, got, err, tc.want)
		}
	}
	if got := runHistory([]string{"A=1", "B=2"}, []string{"/bin/sh", "-c", "make"}); got != "|2 A=1 B=2 /bin/sh -c make" {
		t.Errorf("RUN history %q", got)
	}
	if got := runHistory(nil, []string{"/bin/sh", "-c", "make"}); got != "/bin/sh -c make" {
		t.Errorf("RUN history %q", got)
	}
	if got := copyHistory("COPY", "build", "file:ab", "/dst/"); got != "/bin/sh -c #(nop) COPY --from=build file:ab in /dst/ " {
		t.Errorf("COPY history %q", got)
	}
}

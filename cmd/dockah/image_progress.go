//go:build !lean

package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/dockah/dockah/rootfs/archive"
	"golang.org/x/sys/unix"
)

// progress shows layer events: on a terminal one bar per layer, redrawn in
// place; elsewhere one plain line when a layer starts and ends; nothing
// when quiet.
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	quiet    bool
	terminal bool
	order    []string
	bars     map[string]archive.Event
	drawn    int // lines drawn last time
	last     time.Time
	notices  []string // printed under the bars when they are done
}

func newProgress(w io.Writer, quiet bool) *progress {
	p := &progress{w: w, quiet: quiet, bars: map[string]archive.Event{}}
	if f, ok := w.(*os.File); ok {
		_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
		p.terminal = err == nil
	}
	return p
}

func (p *progress) event(ev archive.Event) {
	if p.quiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if ev.State == "notice" {
		line := fmt.Sprintf("layer %s: %s", short(ev.Layer), ev.Message)
		if !p.terminal {
			fmt.Fprintln(p.w, line)
		} else {
			p.notices = append(p.notices, line)
		}
		return
	}
	if !p.terminal {
		if ev.State != "unpacking" || ev.Done == 0 {
			fmt.Fprintf(p.w, "layer %s: %s %s\n", short(ev.Layer), ev.State, humanSize(ev.Total))
		}
		return
	}
	if _, ok := p.bars[ev.Layer]; !ok {
		p.order = append(p.order, ev.Layer)
	}
	p.bars[ev.Layer] = ev
	if ev.State == "unpacking" && time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.draw()
}

// draw rewrites the bars in place: up over the lines drawn before.
func (p *progress) draw() {
	p.last = time.Now()
	if p.drawn > 0 {
		fmt.Fprintf(p.w, "\x1b[%dA", p.drawn)
	}
	for _, id := range p.order {
		ev := p.bars[id]
		fmt.Fprintf(p.w, "\x1b[2K%s %s %-9s %s\n", short(id), bar(ev), ev.State, humanSize(ev.Done))
	}
	p.drawn = len(p.order)
}

func (p *progress) finish() {
	if p.quiet || !p.terminal {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.order) > 0 {
		p.draw()
	}
	for _, n := range p.notices {
		fmt.Fprintln(p.w, n)
	}
}

const barWidth = 30

func bar(ev archive.Event) string {
	done := barWidth
	if ev.State == "unpacking" {
		done = 0
		if ev.Total > 0 {
			done = int(min(ev.Done*barWidth/ev.Total, barWidth))
		}
	}
	return "[" + strings.Repeat("=", done) + strings.Repeat(" ", barWidth-done) + "]"
}

// short is a digest's first 12 hex digits.
func short(d string) string {
	d = strings.TrimPrefix(d, "sha256:")
	if len(d) > 12 {
		return d[:12]
	}
	return d
}

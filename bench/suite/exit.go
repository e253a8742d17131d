package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// hyperfineResult is the part of hyperfine's --export-json the suite reads.
type hyperfineResult struct {
	Results []struct {
		Command string    `json:"command"`
		Times   []float64 `json:"times"` // seconds
	} `json:"results"`
}

// measureExit times each variant's start-to-exit of /bin/true with
// hyperfine inside the box, in rounds: each round runs every command
// (after a short warmup) in an order rotated by one from the last, so
// that drift in the machine's load spreads over all of them.
//
// hyperfine runs as a transient service of the box's systemd, as any
// service on a host would: dockah-activate then registers its container
// with systemd-machined and runc makes its cgroup in the box's tree;
// Delegate=yes lets systemd-nspawn --keep-unit manage the cgroup below.
// Without NOTIFY_SOCKET, dockah-activate waits for the container and exits
// with its status.
func (s *suite) measureExit() error {
	vs, err := s.probeExit()
	if err != nil {
		return err
	}
	for r := 0; r < s.opts.rounds; r++ {
		order := append(append([]*variant{}, vs[r%len(vs):]...), vs[:r%len(vs)]...)
		if err := s.exitRound(r, order); err != nil {
			return err
		}
		logf("  round %d/%d", r+1, s.opts.rounds)
	}
	// "dockah run --rm" should leave no writable layer behind.
	out, err := s.sh("ls -d /var/lib/dockah/containers/run-* 2>/dev/null | wc -l")
	if err != nil {
		return err
	}
	s.runLeftovers, err = strconv.Atoi(strings.TrimSpace(out))
	return err
}

// probeExit runs each start-to-exit command once, as the rounds will,
// and returns the variants whose command works.
func (s *suite) probeExit() ([]*variant, error) {
	var vs []*variant
	for _, v := range s.variants {
		if v.exitCmd == "" {
			continue
		}
		args := append([]string{"systemd-run", "--quiet", "--wait", "--pipe", "--collect", "-p", "Delegate=yes"}, strings.Fields(v.exitCmd)...)
		if out, err := s.box.Run(args...); err != nil {
			if err := v.drop("start-to-exit", err, out); err != nil {
				return nil, err
			}
			v.exitFailed = true
			continue
		}
		vs = append(vs, v)
	}
	return vs, nil
}

func (s *suite) exitRound(r int, order []*variant) error {
	export := fmt.Sprintf("%s/hyperfine/round-%d.json", benchDir, r)
	if err := os.MkdirAll(s.host(benchDir+"/hyperfine"), 0o755); err != nil {
		return err
	}
	args := []string{"systemd-run", "--quiet", "--wait", "--pipe", "--collect", "-p", "Delegate=yes",
		"hyperfine", "-N", "--style", "none", "--warmup", "2", "--runs", fmt.Sprint(s.opts.runs),
		"--export-json", export}
	byCmd := map[string]*variant{}
	for _, v := range order {
		args = append(args, v.exitCmd)
		byCmd[v.exitCmd] = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if out, err := s.box.RunContext(ctx, args...); err != nil {
		return fmt.Errorf("round %d: %w\n%s", r, err, out)
	}
	data, err := os.ReadFile(s.host(export))
	if err != nil {
		return err
	}
	var res hyperfineResult
	if err := json.Unmarshal(data, &res); err != nil {
		return fmt.Errorf("parse %s: %w", export, err)
	}
	for _, c := range res.Results {
		v := byCmd[c.Command]
		if v == nil {
			return fmt.Errorf("hyperfine reported an unknown command %q", c.Command)
		}
		for _, t := range c.Times {
			v.exit = append(v.exit, time.Duration(t*float64(time.Second)))
		}
	}
	return nil
}

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"strconv"
	"time"
)

// auditMessageID is the MESSAGE_ID of the shim's start and stop records
// (dockah-activate's AuditMessageID).
const auditMessageID = "734ac53e94b243e5a8cf12db702a479d"

// stopRecordsRead is how many of the newest stop records ps -a reads to
// find how containers last ended.
const stopRecordsRead = 2000

// lastStops returns how each of the containers named last ended, from the
// stop records the shim writes to the journal (its unit's ExecStopPost=):
// what systemd forgets when it unloads an inactive unit. Containers with
// no record in the newest stopRecordsRead are left out; so is everything
// when journalctl cannot be run.
func lastStops(ctx context.Context, names map[string]bool) map[string]*exitStatus {
	out := map[string]*exitStatus{}
	if len(names) == 0 {
		return out
	}
	cmd := exec.CommandContext(ctx, "journalctl", "--no-pager", "--quiet", "--reverse",
		"--lines", strconv.Itoa(stopRecordsRead), "--output", "json",
		"--output-fields", "DOCKAH_CONTAINER,DOCKAH_RESULT,DOCKAH_EXIT_CODE,DOCKAH_EXIT_STATUS",
		"MESSAGE_ID="+auditMessageID, "DOCKAH_EVENT=stop")
	data, err := cmd.Output()
	if err != nil {
		return out
	}
	return parseStopRecords(data, names)
}

// parseStopRecords reads journalctl -o json lines, newest first, and
// keeps the first record of each container named.
func parseStopRecords(data []byte, names map[string]bool) map[string]*exitStatus {
	out := map[string]*exitStatus{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() && len(out) < len(names) {
		var rec struct {
			Container  string `json:"DOCKAH_CONTAINER"`
			Result     string `json:"DOCKAH_RESULT"`
			ExitCode   string `json:"DOCKAH_EXIT_CODE"`
			ExitStatus string `json:"DOCKAH_EXIT_STATUS"`
			Realtime   string `json:"__REALTIME_TIMESTAMP"`
		}
		if json.Unmarshal(sc.Bytes(), &rec) != nil || !names[rec.Container] || out[rec.Container] != nil || rec.ExitCode == "" {
			continue
		}
		fields := map[string]string{"EXIT_CODE": rec.ExitCode, "EXIT_STATUS": rec.ExitStatus, "SERVICE_RESULT": rec.Result}
		usec, _ := strconv.ParseInt(rec.Realtime, 10, 64)
		e := exitFromEnvironment(func(k string) string { return fields[k] }, time.UnixMicro(usec).UTC())
		out[rec.Container] = &e
	}
	return out
}

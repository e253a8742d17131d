package main

import (
	"encoding/binary"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

func TestAuditMessageID(t *testing.T) {
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(AuditMessageID) {
		t.Errorf("MESSAGE_ID %q is not 128 bits in lower-case hex, as journald wants it", AuditMessageID)
	}
}

func TestAuditJournalRecord(t *testing.T) {
	start := auditRecord{Event: "start", Container: "web@blue", Image: "nginx:1.25", Unit: "web@blue.service", Result: "success", Pid: 4242}
	want := map[string]string{
		"MESSAGE_ID": AuditMessageID, "SYSLOG_IDENTIFIER": "dockah-activate", "DOCKAH_EVENT": "start",
		"DOCKAH_CONTAINER": "web@blue", "DOCKAH_IMAGE": "nginx:1.25", "UNIT": "web@blue.service", "OBJECT_SYSTEMD_UNIT": "web@blue.service",
		"DOCKAH_LABEL": "none", "DOCKAH_RESULT": "success", "DOCKAH_PID": "4242",
	}
	if diff := cmp.Diff(want, start.journalFields()); diff != "" {
		t.Errorf("start fields (-want +got):\n%s", diff)
	}
	for name := range start.journalFields() {
		if !regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`).MatchString(name) {
			t.Errorf("field %q is not a journal field name", name)
		}
	}
	for _, tc := range []struct {
		r    auditRecord
		want string
	}{
		{start, "container web@blue started (image nginx:1.25, unit web@blue.service, label none)"},
		{auditRecord{Event: "start", Container: "db", Image: "unknown", Unit: "db.service", Result: "image pg:16: not found"},
			"container db failed to start (image unknown, unit db.service, label none): image pg:16: not found"},
		{auditRecord{Event: "stop", Container: "web", Image: "nginx", Unit: "web.service", Label: "system_u:system_r:container_t:s0:c1,c2", Result: "exit-code", ExitCode: "exited", ExitStatus: "1"},
			"container web stopped (image nginx, unit web.service, label system_u:system_r:container_t:s0:c1,c2): exit-code, exited 1"},
	} {
		if got := tc.r.message(); got != tc.want {
			t.Errorf("message\n got %q\nwant %q", got, tc.want)
		}
	}
	stop := auditRecord{Event: "stop", Result: "signal", ExitCode: "killed", ExitStatus: "KILL"}
	if f := stop.journalFields(); f["DOCKAH_EXIT_CODE"] != "killed" || f["DOCKAH_EXIT_STATUS"] != "KILL" || f["DOCKAH_PID"] != "" {
		t.Errorf("stop fields %v", f)
	}
	if stop.priority() == start.priority() {
		t.Error("a failed stop has the priority of a success")
	}
}

func TestAuditKernelText(t *testing.T) {
	r := auditRecord{Event: "start", Container: "web", Image: "nginx:1.25", Unit: "web.service", Result: "success", Pid: 77}
	want := `virt=dockah op=start reason="api" vm="web" uuid=? vm-pid=77 image="nginx:1.25" unit="web.service" label="none" exe="/usr/libexec/dockah/dockah-activate" hostname=? addr=? terminal=? res=success`
	if got := r.kernelText("/usr/libexec/dockah/dockah-activate"); got != want {
		t.Errorf("\n got %s\nwant %s", got, want)
	}
	failed := auditRecord{Event: "stop", Container: "web", Result: "exit-code"}.kernelText("/x")
	if !strings.Contains(failed, `op=stop reason="exit-code"`) || !strings.Contains(failed, "vm-pid=-1") || !strings.HasSuffix(failed, "res=failed") {
		t.Errorf("stop record %s", failed)
	}
	for in, want := range map[string]string{"web": `"web"`, "a b": "612062", `x"y`: "782279", "é": "C3A9", "": `""`} {
		if got := auditValue(in); got != want {
			t.Errorf("auditValue(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestAuditNetlinkMessage(t *testing.T) {
	msg := auditMessage(auditVirtControl, "virt=dockah")
	if len(msg)%4 != 0 || int(binary.NativeEndian.Uint32(msg)) != 16+len("virt=dockah")+1 {
		t.Fatalf("length: %d bytes, header says %d", len(msg), binary.NativeEndian.Uint32(msg))
	}
	if binary.NativeEndian.Uint16(msg[4:]) != 2500 || binary.NativeEndian.Uint16(msg[6:])&unix.NLM_F_ACK == 0 {
		t.Errorf("header %x", msg[:16])
	}
	if string(msg[16:16+12]) != "virt=dockah\x00" {
		t.Errorf("payload %q", msg[16:])
	}
	ack := func(code int32) []byte {
		b := make([]byte, 36)
		binary.NativeEndian.PutUint16(b[4:], unix.NLMSG_ERROR)
		binary.NativeEndian.PutUint32(b[16:], uint32(code))
		return b
	}
	if err := auditAck(ack(0)); err != nil {
		t.Errorf("ack 0: %v", err)
	}
	if err := unavailable(auditAck(ack(-int32(unix.ECONNREFUSED)))); !errors.Is(err, errAuditUnavailable) {
		t.Errorf("ECONNREFUSED (not the initial namespaces) must mean unavailable: %v", err)
	}
	if err := unavailable(auditAck(ack(-int32(unix.EINVAL)))); err == nil || errors.Is(err, errAuditUnavailable) {
		t.Errorf("EINVAL is an error of ours: %v", err)
	}
	if err := auditAck([]byte{1, 2}); err == nil {
		t.Error("a short answer is no acknowledgement")
	}
}

// TestKernelAuditRecord sends one record to the running kernel: accepted
// (as root in the initial namespaces; dropped by the kernel when audit is
// off), or unavailable (other users, containers), never another error.
func TestKernelAuditRecord(t *testing.T) {
	text := auditRecord{Event: "test", Container: "dockah-test", Image: "-", Unit: "-", Result: "success"}.kernelText("/dev/null")
	err := sendKernelAudit(auditVirtControl, text)
	if err != nil && !errors.Is(err, errAuditUnavailable) {
		t.Fatalf("kernel audit: %v", err)
	}
	t.Logf("kernel audit: %v (nil: accepted)", err)
}

func TestStopHint(t *testing.T) {
	for _, tc := range []struct {
		result string
		init   bool
		want   bool
	}{{"timeout", false, true}, {"timeout", true, false}, {"success", false, false}, {"exit-code", false, false}} {
		if got := stopHint(tc.result, tc.init); (got != "") != tc.want || tc.want && !strings.Contains(got, "init = true") {
			t.Errorf("stopHint(%q, %v) = %q", tc.result, tc.init, got)
		}
	}
}

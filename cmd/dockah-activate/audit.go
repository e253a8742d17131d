package main

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/coreos/go-systemd/v22/journal"
	"golang.org/x/sys/unix"

	"github.com/dockah/dockah/cmd/internal/launch"
	"github.com/dockah/dockah/policy"
)

// AuditMessageID is the MESSAGE_ID of every start and stop record in the
// journal (journalctl MESSAGE_ID=734ac53e94b243e5a8cf12db702a479d);
// DOCKAH_EVENT says which. docs/cli.md lists the fields.
const AuditMessageID = "734ac53e94b243e5a8cf12db702a479d"

// auditVirtControl is AUDIT_VIRT_CONTROL from linux/audit.h, the kernel
// audit record type libvirt and others use to start and stop guests.
const auditVirtControl = 2500

// auditRecord is one start or stop of a container.
type auditRecord struct {
	Event      string // "start" or "stop"
	Container  string
	Image      string // the definition's reference
	Unit       string
	Label      string // the SELinux process label; empty: none
	Result     string // "success", or what went wrong
	Pid        int    // the container's init, for a start; 0 if none
	ExitCode   string // for a stop: systemd's $EXIT_CODE (exited, killed, dumped)
	ExitStatus string // for a stop: $EXIT_STATUS
}

// auditEvent records a start or a stop of a container in the journal and,
// where the kernel's audit is available, as an AUDIT_VIRT_CONTROL record.
// It never fails the start or the stop: a record that cannot be written
// is a line on stderr (the journal), and a kernel without audit, or a
// process outside the initial namespaces that audit accepts, gets none.
func auditEvent(r auditRecord) {
	if err := journal.Send(r.message(), r.priority(), r.journalFields()); err != nil && journal.Enabled() {
		fmt.Fprintf(os.Stderr, "dockah-activate: %s: audit record to the journal: %v\n", r.Container, err)
	}
	exe, _ := os.Executable()
	if err := sendKernelAudit(auditVirtControl, r.kernelText(exe)); err != nil && !errors.Is(err, errAuditUnavailable) {
		fmt.Fprintf(os.Stderr, "dockah-activate: %s: kernel audit record: %v\n", r.Container, err)
	}
}

func (r auditRecord) label() string {
	if r.Label == "" {
		return "none"
	}
	return r.Label
}

func (r auditRecord) success() bool { return r.Result == "success" }

func (r auditRecord) priority() journal.Priority {
	if r.success() {
		return journal.PriInfo
	}
	return journal.PriWarning
}

// message is the record's MESSAGE: one line saying what happened.
func (r auditRecord) message() string {
	verb := map[string]string{"start": "started", "stop": "stopped"}[r.Event]
	if !r.success() && r.Event == "start" {
		verb = "failed to start"
	}
	msg := fmt.Sprintf("container %s %s (image %s, unit %s, label %s)", r.Container, verb, r.Image, r.Unit, r.label())
	if r.Event == "stop" && r.ExitCode != "" {
		msg += fmt.Sprintf(": %s, %s %s", r.Result, r.ExitCode, r.ExitStatus)
	} else if !r.success() {
		msg += ": " + r.Result
	}
	return msg
}

// journalFields are the record's structured fields.
func (r auditRecord) journalFields() map[string]string {
	f := map[string]string{
		"MESSAGE_ID":        AuditMessageID,
		"SYSLOG_IDENTIFIER": "dockah-activate",
		"DOCKAH_EVENT":      r.Event,
		"DOCKAH_CONTAINER":  r.Container,
		"DOCKAH_IMAGE":      r.Image,
		"UNIT":              r.Unit,
		// What the record is about, for journalctl -u: the sender
		// (the shim, short-lived) may be gone before journald looks
		// up its unit, and -u matches OBJECT_SYSTEMD_UNIT of root's
		// messages.
		"OBJECT_SYSTEMD_UNIT": r.Unit,
		"DOCKAH_LABEL":        r.label(),
		"DOCKAH_RESULT":       r.Result,
	}
	if r.Pid != 0 {
		f["DOCKAH_PID"] = strconv.Itoa(r.Pid)
	}
	if r.ExitCode != "" {
		f["DOCKAH_EXIT_CODE"], f["DOCKAH_EXIT_STATUS"] = r.ExitCode, r.ExitStatus
	}
	return f
}

// kernelText is the AUDIT_VIRT_CONTROL message, in libvirt's format
// (virt= op= reason= vm= vm-pid=) with dockah's fields added; the kernel
// adds the sender's pid, uid, auid, session and label.
func (r auditRecord) kernelText(exe string) string {
	res := "success"
	if !r.success() {
		res = "failed"
	}
	reason := "api"
	if r.Event == "stop" {
		reason = r.Result
	}
	pid := r.Pid
	if pid == 0 {
		pid = -1 // unknown, as libvirt writes it
	}
	return fmt.Sprintf("virt=dockah op=%s reason=%s vm=%s uuid=? vm-pid=%d image=%s unit=%s label=%s exe=%s hostname=? addr=? terminal=? res=%s",
		r.Event, auditValue(reason), auditValue(r.Container), pid, auditValue(r.Image), auditValue(r.Unit),
		auditValue(r.label()), auditValue(exe), res)
}

// auditValue quotes a value as the audit system expects untrusted text:
// in double quotes, or in hex when it holds a quote, a space, a control
// character or anything beyond ASCII (auditd decodes it).
func auditValue(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == '"' || c >= 0x7f {
			return strings.ToUpper(hex.EncodeToString([]byte(s)))
		}
	}
	return `"` + s + `"`
}

// errAuditUnavailable means the kernel takes no audit records from this
// process: no audit support, not in the initial pid and user namespaces,
// or no CAP_AUDIT_WRITE.
var errAuditUnavailable = errors.New("kernel audit unavailable")

// sendKernelAudit sends one user record to the kernel's audit netlink
// socket and reads the kernel's acknowledgement.
func sendKernelAudit(typ uint16, text string) error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_AUDIT)
	if err != nil {
		return unavailable(err)
	}
	defer unix.Close(fd)
	// The kernel answers at once; never hang a start on it.
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: 1}); err != nil {
		return err
	}
	if err := unix.Sendto(fd, auditMessage(typ, text), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return unavailable(err)
	}
	buf := make([]byte, 4096)
	n, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil {
		return unavailable(err)
	}
	return unavailable(auditAck(buf[:n]))
}

// auditMessage is a netlink message of type typ carrying text, as
// libaudit sends it (NUL-terminated), asking for an acknowledgement.
func auditMessage(typ uint16, text string) []byte {
	payload := append([]byte(text), 0)
	msg := make([]byte, unix.NLMSG_HDRLEN, unix.NLMSG_HDRLEN+len(payload)+unix.NLMSG_ALIGNTO)
	binary.NativeEndian.PutUint32(msg[0:4], uint32(unix.NLMSG_HDRLEN+len(payload)))
	binary.NativeEndian.PutUint16(msg[4:6], typ)
	binary.NativeEndian.PutUint16(msg[6:8], unix.NLM_F_REQUEST|unix.NLM_F_ACK)
	binary.NativeEndian.PutUint32(msg[8:12], 1) // sequence number
	msg = append(msg, payload...)
	for len(msg)%unix.NLMSG_ALIGNTO != 0 {
		msg = append(msg, 0)
	}
	return msg
}

// auditAck reads the kernel's NLMSG_ERROR answer: error 0 is success.
func auditAck(b []byte) error {
	if len(b) < unix.NLMSG_HDRLEN+4 || binary.NativeEndian.Uint16(b[4:6]) != unix.NLMSG_ERROR {
		return errors.New("no acknowledgement from the kernel")
	}
	if code := int32(binary.NativeEndian.Uint32(b[unix.NLMSG_HDRLEN:])); code != 0 {
		return unix.Errno(-code)
	}
	return nil
}

// unavailable marks the errors that mean the kernel's audit is not there
// for this process.
func unavailable(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.EPROTONOSUPPORT), errors.Is(err, unix.EAFNOSUPPORT),
		errors.Is(err, unix.ECONNREFUSED), errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		return fmt.Errorf("%w: %v", errAuditUnavailable, err)
	}
	return err
}

// auditStarted records a successful start.
func auditStarted(name string, prep *launch.Prepared, pid int) {
	auditEvent(auditRecord{
		Event: "start", Container: name, Image: prep.Container.Image, Unit: prep.Container.Unit,
		Label: prep.Config.Spec.Process.SelinuxLabel, Result: "success", Pid: pid,
	})
}

// auditStartFailed records a start that did not get the container running.
func auditStartFailed(name string, err error) {
	r := auditRecord{Event: "start", Container: name, Image: "unknown", Unit: name + ".service", Result: oneLine(err.Error())}
	if def, derr := loadDefinition(name); derr == nil {
		r.Image, r.Unit = def.Container.Image, def.ServiceUnit()
	}
	auditEvent(r)
}

// stopped is the --stopped mode, the generated unit's ExecStopPost=: it
// records the stop with what systemd says of it ($SERVICE_RESULT,
// $EXIT_CODE, $EXIT_STATUS). It never fails: a stop is a stop.
func stopped(name string) {
	leaveNetworks(name)
	r := auditRecord{
		Event: "stop", Container: name, Image: "unknown", Unit: name + ".service",
		Result: os.Getenv("SERVICE_RESULT"), ExitCode: os.Getenv("EXIT_CODE"), ExitStatus: os.Getenv("EXIT_STATUS"),
	}
	if r.Result == "" {
		r.Result = "unknown"
	}
	def, err := loadDefinition(name)
	if err == nil {
		r.Image, r.Unit = def.Container.Image, def.ServiceUnit()
		if hint := stopHint(r.Result, def.Container.Init); hint != "" {
			fmt.Fprintf(os.Stderr, "dockah-activate: container %s: %s\n", name, hint)
		}
	}
	// The label the container had: its level is recorded by name. The
	// image is read for it, so the shim confines itself first, as at a
	// start.
	if err == nil && policy.HostSELinux().Enabled() {
		if err := confineShim(def, false); err != nil {
			fmt.Fprintf(os.Stderr, "dockah-activate: container %s: %v\n", name, err)
		} else if prep, err := prepare(name, "", nil, launch.ModePrint); err == nil {
			r.Label = prep.Config.Spec.Process.SelinuxLabel
		}
	}
	auditEvent(r)
}

// stopHint explains a stop that timed out: the kernel gives a pid 1 no
// default signal actions, so an application that installs no handler for
// the stop signal never sees it, and only SIGKILL at the timeout ends it.
func stopHint(result string, init bool) string {
	if result != "timeout" || init {
		return ""
	}
	return "did not end on its stop signal and was killed at stop_timeout; as pid 1 it gets no default signal actions: init = true in [container] forwards the signal to it"
}

func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

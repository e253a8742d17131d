package measure

import (
	"fmt"
	"strings"

	"github.com/dockah/dockah/unitgen"
)

// sandboxResets is, for each directive the generated unit's sandbox may
// hold, the assignment that undoes it in a drop-in: the empty one resets
// a list, the others restore systemd's default.
var sandboxResets = map[string]string{
	"CapabilityBoundingSet":   "~", // all but none: every capability
	"NoNewPrivileges":         "no",
	"ProtectSystem":           "no",
	"PrivateMounts":           "no",
	"ReadWritePaths":          "",
	"ProtectHome":             "no",
	"PrivateTmp":              "no",
	"UMask":                   "0022",
	"ProtectKernelTunables":   "no",
	"ProtectControlGroups":    "no",
	"ProtectKernelModules":    "no",
	"ProtectKernelLogs":       "no",
	"ProtectClock":            "no",
	"LockPersonality":         "no",
	"RestrictRealtime":        "no",
	"PrivateNetwork":          "no",
	"IPAddressDeny":           "",
	"IPAddressAllow":          "",
	"RestrictNamespaces":      "no",
	"DevicePolicy":            "auto",
	"DeviceAllow":             "",
	"RestrictAddressFamilies": "",
	"SystemCallArchitectures": "",
	"SystemCallFilter":        "",
	"SystemCallErrorNumber":   "",
}

// SandboxReset returns the drop-in that turns off the directives of
// sandbox whose key only accepts (every directive when only is nil). A
// directive it does not know (one unitgen added since) is an error, not a
// variant that silently keeps part of the sandbox.
func SandboxReset(sandbox []unitgen.SandboxDirective, only func(key string) bool) (string, error) {
	var sb strings.Builder
	sb.WriteString("[Service]\n")
	seen := map[string]bool{}
	for _, dir := range sandbox {
		reset, ok := sandboxResets[dir.Key]
		if !ok {
			return "", fmt.Errorf("the sandbox directive %s has no reset in bench/measure (sandboxResets)", dir.Key)
		}
		if seen[dir.Key] || (only != nil && !only(dir.Key)) {
			continue
		}
		seen[dir.Key] = true
		sb.WriteString(dir.Key + "=" + reset + "\n")
	}
	return sb.String(), nil
}

// SandboxKeys returns the directive keys of sandbox, each once, in order.
func SandboxKeys(sandbox []unitgen.SandboxDirective) []string {
	var keys []string
	seen := map[string]bool{}
	for _, dir := range sandbox {
		if !seen[dir.Key] {
			seen[dir.Key] = true
			keys = append(keys, dir.Key)
		}
	}
	return keys
}

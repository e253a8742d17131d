// Package ops tests operating containers in a real systemd: dockah ps,
// inspect, logs, exec, start, stop, restart, enable and disable, the
// machined registration (machinectl list and status over a container's
// life) and the audit records of starts and stops. Its ports are
// 18400-18499.
package ops

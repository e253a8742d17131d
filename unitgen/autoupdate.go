package unitgen

// AutoUpdatePolicy says whether and how `dockah auto-update` moves a
// container to a newer image, as podman's io.containers.autoupdate label
// and Quadlet's AutoUpdate= do. The zero value means AutoUpdateDisabled.
type AutoUpdatePolicy string

// Auto-update policies.
const (
	// AutoUpdateDisabled leaves the container alone.
	AutoUpdateDisabled AutoUpdatePolicy = "disabled"
	// AutoUpdateRegistry pulls the image's name when the registry has
	// another digest for it, and restarts the container on the new image.
	AutoUpdateRegistry AutoUpdatePolicy = "registry"
	// AutoUpdateLocal restarts the container when its image's name points
	// to another image in the store than the one it runs (after dockah
	// build or image import).
	AutoUpdateLocal AutoUpdatePolicy = "local"
)

// autoUpdatePolicies are the values of container.auto_update, in the
// order the diagnostics list them.
var autoUpdatePolicies = []string{string(AutoUpdateDisabled), string(AutoUpdateRegistry), string(AutoUpdateLocal)}

// String returns the policy as a definition writes it; the zero value is
// "disabled".
func (p AutoUpdatePolicy) String() string {
	if p == "" {
		return string(AutoUpdateDisabled)
	}
	return string(p)
}

package unitgen

// PullPolicy says when the image of a container is fetched from its
// registry into the store, as podman's --pull and Quadlet's Pull= do. The
// pull runs in its own unit, dockah-pull@NAME.service (PullTemplate),
// which NAME.service requires and starts after, so it runs before every
// start of the container, outside the container's start timeout, and a
// failed pull fails that start as a dependency (which Restart= does not
// retry). The zero value means PullMissing.
type PullPolicy string

// Pull policies.
const (
	// PullMissing pulls only when the store does not have the image.
	PullMissing PullPolicy = "missing"
	// PullAlways pulls at every start; a registry that cannot be
	// reached fails the start.
	PullAlways PullPolicy = "always"
	// PullNewer pulls when the registry has another digest than the
	// store; a registry that cannot be reached leaves the local image.
	PullNewer PullPolicy = "newer"
	// PullNever never pulls: NAME.service gets no pull unit, and a
	// missing image fails the start.
	PullNever PullPolicy = "never"
)

// pullPolicies are the values of container.pull, in the order the
// diagnostics list them.
var pullPolicies = []string{string(PullMissing), string(PullAlways), string(PullNewer), string(PullNever)}

// String returns the policy as a definition writes it; the zero value is
// "missing".
func (p PullPolicy) String() string {
	if p == "" {
		return string(PullMissing)
	}
	return string(p)
}

// PullTemplate is the static template unit that pulls a container's
// image, installed from contrib/units. Its instance is the container's
// name as it is ("web", "web@blue"), which it passes on with %i to
// "dockah image pull --for-container=NAME". Container names hold only
// characters that are valid in an instance, so no escaping is needed, and
// %i (not %I, which would turn "-" into "/") gives the name back.
const PullTemplate = "dockah-pull@.service"

// PullUnit returns the unit that pulls d's image before d starts:
// "dockah-pull@web.service", "dockah-pull@web@blue.service" for an
// instance, and for a template "dockah-pull@web@%i.service", its instance
// left to systemd. It is "" when d's pull policy is PullNever.
func (d *Definition) PullUnit() string {
	if d.Container.Pull == PullNever {
		return ""
	}
	name := d.Name
	if d.IsTemplate() {
		name += "%i"
	}
	return "dockah-pull@" + name + ".service"
}

// pullDependency writes the service's dependency on the pull of its
// image. Requires= (with After=), not a step of the service itself: the
// pull's time is not part of the service's TimeoutStartSec=, a failed
// pull fails the start job as a dependency, and a pull unit that has
// exited runs again whenever the service starts again.
func (r *renderer) pullDependency(w *unitWriter) {
	u := r.d.PullUnit()
	if u == "" {
		return
	}
	w.set("After", r.spec(u))
	w.set("Requires", r.spec(u))
}

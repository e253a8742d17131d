package rootfs

import "errors"

// ErrNotFound is returned when a reference, image, layer or container
// record does not exist in the store.
var ErrNotFound = errors.New("not found")

// ErrUnsafePath is wrapped by every refusal of a hostile archive entry:
// one that would create, change or read something outside its layer, an
// unexpected device node, or an entry beyond the configured limits.
var ErrUnsafePath = errors.New("unsafe path")

// ErrInUse is returned by Remove when the image is used by a definition
// or a container and the removal is not forced.
var ErrInUse = errors.New("image in use")

// Package services runs real services in dockah containers: images of
// nginx, redis, postgres, memcached and sshd built from Debian's packages
// by contrib/images/build, with the definitions of contrib/units as they
// ship. Each is started by the first connection of a real client from
// Debian (curl, redis-cli, psql, nc, ssh), answers, is restarted, and
// still has the data its volume keeps.
//
// The images are built on the host (they need the Debian mirror) and
// cached in /var/cache/dockah-images, then imported into the box with the
// same script. Ports 18700-18799 belong to this package.
package services

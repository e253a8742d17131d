// Package build tests dockah build in a real systemd box: each directory
// of testdata/ is a context with its Containerfile (multi-stage, ARG and
// ENV, USER and WORKDIR, .dockerignore, heredocs, COPY --chown, a failing
// RUN, the config instructions); each image built runs under dockah run
// and prints what its want file says; for the files Buildah 1.28
// understands, the image config equals buildah bud's for the same file
// and context; dockah image save's archive is read by skopeo and loaded
// by podman; and the demo server's image is built from
// contrib/hello/Containerfile and answers on 127.0.0.1:18951; a FROM
// image the store lacks is pulled from a registry (tests/registry, on a
// free loopback port). 18951 is the one fixed port the package uses.
package build

# dockah — build, install, test.  Run `make help` for the targets.

PREFIX     ?= /usr/local
DESTDIR    ?=
BINDIR     ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec
GENERATORDIR ?= $(PREFIX)/lib/systemd/system-generators
UNITDIR    ?= $(PREFIX)/lib/systemd/system
DATADIR    ?= $(PREFIX)/share
SYSCONFDIR ?= /etc

# Go from go.dev lives in /usr/local/go on a fresh machine, often not on
# root's PATH; the tests run `go` too, so export it.
export PATH := /usr/local/go/bin:$(PATH)
GO       ?= go
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
SHIM     := $(LIBEXECDIR)/dockah/dockah-activate
# dockah is the CLI's lean build (cmd/dockah/dispatch.go): the start
# path's commands, which hands every other to the full build here.
FULLCLI  := $(LIBEXECDIR)/dockah/dockah-full
LDFLAGS  := -s -w -X main.version=$(VERSION) -X main.shimPath=$(SHIM) -X main.fullPath=$(FULLCLI)
GOBUILD  := $(GO) build -trimpath -ldflags '$(LDFLAGS)'
# The shim and the CLI link libseccomp (cgo). They are linked statically:
# the container's init re-executes the shim after pivot_root, where a
# dynamic loader would load libraries from the image; and a static binary
# starts faster. netgo and osusergo keep glibc's NSS out of it.
STATIC   := -tags netgo,osusergo -ldflags '$(LDFLAGS) -linkmode external -extldflags "-static"'
GOSTATIC := $(GO) build -trimpath $(STATIC)
# The shim is linked with musl when musl-gcc is here (make deps installs
# musl-tools): static glibc's start probes the CPU caches with cpuid, which
# traps to the hypervisor on a virtual machine, and costs each start of
# the shim (a container's start, its forwarder's) 0.7 ms here; musl's start
# costs nearly nothing. The kernel's headers and libseccomp's static
# library are Debian's (policy/seccomp_musl.go gives libseccomp the one
# glibc function it calls that musl has not), found through bin/.musl.
# (musl-gcc is looked for when the shim is built: `make deps build`
# installs musl-tools after this Makefile is read.)
MUSLENV   := bin/.musl
SHIMMUSL  := PKG_CONFIG_PATH=$(CURDIR)/$(MUSLENV) CC=musl-gcc CGO_CFLAGS='-O2 -idirafter $(CURDIR)/$(MUSLENV)/include' \
	$(GO) build -trimpath -tags netgo,osusergo,musl -ldflags '$(LDFLAGS) -linkmode external -extldflags "-static"'
# The lean build has no cgo: it compiles no seccomp program and starts no
# container itself, and glibc's static start costs every run 0.7 ms here.
GOLEAN   := CGO_ENABLED=0 $(GO) build -trimpath -tags lean,netgo,osusergo -ldflags '$(LDFLAGS)'
# Test binaries of the packages that run the shim's code are static too.
STATICTEST := -tags netgo,osusergo -ldflags '-linkmode external -extldflags "-static"'

# Debian packages the build, the tests and the benchmarks need. mmdebstrap
# builds the service images and the Debian 13 box (tests/box), and checks
# Debian 13's archive with debian-archive-keyring's keys.
DEB_PACKAGES := make gcc musl-tools pkg-config libseccomp-dev systemd-container \
	crun runc skopeo umoci buildah busybox-static curl netcat-openbsd socat \
	iproute2 jq hyperfine gnuplot-nox podman \
	mmdebstrap debian-archive-keyring redis-tools postgresql-client openssh-client \
	docker-registry apache2-utils openssl rpm zlib1g-dev nftables

BINARIES := bin/dockah bin/dockah-full bin/dockah-generator bin/dockah-activate bin/dockah-stage bin/hello

.PHONY: all build install man demo test test-unit test-integration bench lint deps clean help

all: build

help: ## list the targets
	@awk -F':.*## ' '/^[a-z-]+:.*## / {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## build the binaries into bin/
	@mkdir -p bin
	$(GOLEAN) -o bin/dockah ./cmd/dockah
	$(GOSTATIC) -o bin/dockah-full ./cmd/dockah
	CGO_ENABLED=0 $(GOBUILD) -o bin/dockah-generator ./cmd/dockah-generator
	@if command -v musl-gcc >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory $(MUSLENV)/libseccomp.pc && \
		echo "linking bin/dockah-activate with musl" && \
		$(SHIMMUSL) -o bin/dockah-activate ./cmd/dockah-activate; \
	else \
		echo "musl-gcc not found (make deps installs musl-tools): bin/dockah-activate is linked with glibc, and starts 0.7 ms slower" && \
		$(GOSTATIC) -o bin/dockah-activate ./cmd/dockah-activate; \
	fi
	CGO_ENABLED=0 $(GO) build -trimpath -tags stage,netgo,osusergo -ldflags '$(LDFLAGS)' -o bin/dockah-stage ./cmd/dockah-stage
	CGO_ENABLED=0 $(GOBUILD) -o bin/hello ./contrib/hello

# What the musl build of the shim finds instead of glibc's headers and
# pkg-config file: links to the kernel's headers and libseccomp's.
$(MUSLENV)/libseccomp.pc:
	@mkdir -p $(MUSLENV)/include $(MUSLENV)/lib
	ln -sfn /usr/include/linux $(MUSLENV)/include/linux
	ln -sfn /usr/include/asm-generic $(MUSLENV)/include/asm-generic
	ln -sfn /usr/include/$$(gcc -print-multiarch)/asm $(MUSLENV)/include/asm
	ln -sfn /usr/include/seccomp.h $(MUSLENV)/include/seccomp.h
	ln -sfn /usr/include/seccomp-syscalls.h $(MUSLENV)/include/seccomp-syscalls.h
	ln -sfn /usr/lib/$$(gcc -print-multiarch)/libseccomp.a $(MUSLENV)/lib/libseccomp.a
	printf 'Name: libseccomp\nDescription: libseccomp for the musl build of the shim\nVersion: 2\nCflags:\nLibs: -L%s -lseccomp\n' '$(CURDIR)/$(MUSLENV)/lib' > $@

man: build ## man pages, one per command, into man/ (from the CLI's own help)
	rm -rf man && bin/dockah man man

install: build man ## install into $(DESTDIR)$(PREFIX) (PREFIX=/usr/local)
	install -D -m 0755 bin/dockah $(DESTDIR)$(BINDIR)/dockah
	install -D -m 0755 bin/dockah-full $(DESTDIR)$(FULLCLI)
	install -D -m 0755 bin/dockah-generator $(DESTDIR)$(GENERATORDIR)/dockah-generator
	install -D -m 0755 bin/dockah-activate $(DESTDIR)$(SHIM)
	install -D -m 0755 bin/dockah-stage $(DESTDIR)$(LIBEXECDIR)/dockah/dockah-stage
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/dockah/containers
	install -d -m 0755 $(DESTDIR)$(DATADIR)/dockah/examples $(DESTDIR)$(DATADIR)/man/man1
	install -m 0644 man/*.1 $(DESTDIR)$(DATADIR)/man/man1/
	@for f in contrib/units/*; do \
		case $$f in \
		*.toml) install -m 0644 $$f $(DESTDIR)$(DATADIR)/dockah/examples/ ;; \
		*.service|*.socket|*.timer|*.target) install -D -m 0644 $$f $(DESTDIR)$(UNITDIR)/$$(basename $$f) ;; \
		esac; \
	done
	@for d in contrib/units/*.toml.d; do \
		install -d -m 0755 $(DESTDIR)$(DATADIR)/dockah/examples/$$(basename $$d) && \
		install -m 0644 $$d/*.toml $(DESTDIR)$(DATADIR)/dockah/examples/$$(basename $$d)/ ; \
	done
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/dockah/networks $(DESTDIR)$(DATADIR)/dockah/examples/networks
	install -m 0644 contrib/networks/*.toml $(DESTDIR)$(DATADIR)/dockah/examples/networks/

deps: ## install the Debian packages the build and the tests need (root)
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(DEB_PACKAGES)

demo: build ## boot a systemd box and show a socket-activated container answering (root)
	$(GO) run ./tests/demo

test: lint test-unit test-integration ## all tests: unit, privileged and, in a systemd box, integration (root for all of it)

test-unit: ## tests that need no systemd box; as root also runs them as nobody
	$(GO) test $$($(GO) list ./... | grep -v '/tests/' | grep -v -e /activation -e /cmd/dockah)
	$(GO) test $(STATICTEST) ./activation/... ./cmd/...
	# Containers start on a thread of the shim; init = true and SELinux
	# labels take the setup stage process: the package both ways.
	DOCKAH_STAGE_PROCESS=1 $(GO) test $(STATICTEST) ./activation/
	@if [ "$$(id -u)" = 0 ]; then ./tests/unprivileged.sh; fi

# The systemd boxes the suite runs in, as OS:LAYOUT (tests/box): the
# host's systemd (Debian 12, 252) under both cgroup layouts, because real
# hosts run pure v2; Debian 13's (257), from a tree the harness builds with
# mmdebstrap and caches under /var/cache/dockah-boxes, under v2 only, as
# systemd 256 and later refuse cgroup v1. BOXES=debian13:unified picks one.
BOXES ?= host:unified host:hybrid debian13:unified

# One box per package, packages one at a time (boxes share the host's
# network), and the whole suite once per box.
test-integration: build ## integration tests in systemd boxes: Debian 12's systemd (cgroup v2, hybrid), Debian 13's (v2) (root)
	@set -e; for box in $(BOXES); do \
		echo "== box $$box"; \
		DOCKAH_BOX_OS=$${box%%:*} DOCKAH_BOX_CGROUP=$${box##*:} $(GO) test -count=1 -p 1 -timeout 30m ./tests/...; \
	done

# The suite boots a systemd box and compares dockah with crun, runc, podman
# and systemd-nspawn on one image; it writes bench/results/REPORT.md, a
# chart and a dated copy with the raw samples, and prints the report. It
# runs twice: in the host's systemd (252) and in Debian 13's (257), whose
# results go to bench/results/debian13.
bench: build ## benchmarks: go test -bench, the suite against crun, runc, podman, nspawn (systemd 252 and 257), pull against podman and skopeo, build against buildah (root)
	$(GO) test -run '^$$' -bench . -benchmem $$($(GO) list ./... | grep -v '/tests/')
	$(GO) run ./bench/suite
	DOCKAH_BOX_OS=debian13 $(GO) run ./bench/suite
	$(GO) run ./bench/forward
	$(GO) run ./bench/network
	$(GO) run ./bench/pull
	$(GO) run ./bench/build

lint: ## gofmt, go vet, and go.mod as go mod tidy leaves it
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	CGO_ENABLED=0 $(GO) vet -tags lean ./cmd/dockah
	@$(GO) mod tidy -diff || { echo "go.mod or go.sum is not tidy: run go mod tidy"; exit 1; }

clean: ## remove build output
	rm -rf bin man

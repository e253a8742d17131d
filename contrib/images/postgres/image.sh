# postgres: PostgreSQL 15, as pid 1 in the foreground, as user postgres.
#
# The entrypoint starts as root only to give the data directory (on a
# volume, which dockah creates owned by root) to postgres, then drops to
# postgres for good. At the first start, on an empty data directory, it
# runs initdb (dockah-entrypoint says which POSTGRES_* variables it
# reads). The server listens on 127.0.0.1:5432 in the container and logs
# to stderr.
PACKAGES=(postgresql-15)
# The JIT compiler (LLVM, 120 MiB) is removed: the command turns jit
# off, and without llvmjit.so postgres runs every query without it. The
# perl tools of postgresql-common (pg_ctlcluster, pg_wrapper) are unused:
# the entrypoint runs the server's own binaries. Nor are the locale
# sources of "locales": the clusters use C.UTF-8, built into glibc.
PURGE=(libllvm14 libz3-4 locales postgresql-common postgresql-client-common libjson-perl perl perl-modules-5.36 libperl5.36 ucf)
SETUP='
rm -f /usr/lib/postgresql/*/lib/llvmjit*.so
rm -rf /usr/lib/postgresql/*/lib/bitcode
# postgresql-common made a cluster "main" while installing: the container
# makes its own in the volume.
rm -rf /var/lib/postgresql/* /etc/postgresql
'
ENTRYPOINT='["/usr/local/bin/dockah-entrypoint"]'
CMD='["postgres", "-c", "listen_addresses=127.0.0.1", "-c", "jit=off"]'
IMAGE_USER=root
WORKDIR=/var/lib/postgresql
PORTS=(5432)
ENV=(PGDATA=/var/lib/postgresql/data LANG=C.UTF-8)

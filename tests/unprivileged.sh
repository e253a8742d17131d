#!/usr/bin/env bash
# Runs the unit tier as an unprivileged user, to prove it needs no root:
# tests are compiled by the caller and run as nobody from a copy of the
# tree (the checkout may not be readable by nobody). Tests that need root
# must skip with a reason here, so strict mode is off for this run.
set -euo pipefail
cd "$(dirname "$0")/.."
module=$(go list -m)
work=$(mktemp -d /var/tmp/dockah-unprivileged.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src" "$work/bin" "$work/home"
tar --exclude=./.git --exclude=./bin -cf - . | tar -C "$work/src" -xf -

failed=0
ran=0
# The tests package itself (the dependency check) runs `go list`, which
# needs the module cache of the caller; it runs in the privileged pass.
for pkg in $(go list ./... | grep -v "^$module/tests"); do
	rel=${pkg#"$module"}; rel=${rel#/}
	bin="$work/bin/$(echo "${rel:-root}" | tr / _).test"
	go test -c -o "$bin" "$pkg"
	[ -f "$bin" ] || continue
	chmod -R a+rX "$work"
	chown -R nobody "$work/home"
	ran=$((ran + 1))
	if ! (cd "$work/src/$rel" && setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
		env -i PATH=/usr/bin:/bin HOME="$work/home" TMPDIR=/tmp DOCKAH_TEST_STRICT=0 "$bin" -test.short); then
		echo "FAIL (as nobody): $pkg"
		failed=1
	else
		echo "ok (as nobody): $pkg"
	fi
done
echo "ran the tests of $ran packages as nobody"
exit $failed

//go:build cgo && musl

package policy

/*
#include <stdarg.h>
#include <stdio.h>

// libseccomp's static library is built against glibc with
// _FORTIFY_SOURCE, so its text export (seccomp_export_pfc) calls glibc's
// checked fprintf, which musl does not have. The check adds nothing here:
// the format strings are libseccomp's own.
int __fprintf_chk(FILE *stream, int flag, const char *format, ...) {
	(void)flag;
	va_list args;
	va_start(args, format);
	int n = vfprintf(stream, format, args);
	va_end(args);
	return n;
}
*/
import "C"

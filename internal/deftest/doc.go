// Package deftest builds container definitions for tests and benchmarks:
// the text of a definition file or drop-in, table by table (Definition);
// a file that masks a definition (Masked); a realistic fleet of applications with a drop-in each (Apps); a set of
// definitions that between them take every branch of the generated
// service's sandbox (Sandboxes); and a tree of such files written to disk
// (Write).
//
// Boundary: only tests and benchmarks import it. It imports nothing of
// ours, so that package unitgen's own tests can use it as well as the
// generator's, the CLI's and the benchmark suite. Definitions are text, as
// an administrator writes them: what a test checks is how dockah reads
// them.
package deftest

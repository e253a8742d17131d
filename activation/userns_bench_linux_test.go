package activation

import (
	"os"
	"testing"
)

// BenchmarkStartUserNS measures what a user namespace adds to a start: a
// container of the busybox image that runs sh -c :, started on a thread
// (as the shim does) and waited for, in the host's user namespace and in
// one of its own (the helper, the maps, an idmapped mount per layer, the
// later /proc, the join). The difference of the two is the cost.
func BenchmarkStartUserNS(b *testing.B) {
	if os.Getuid() != 0 || !spawnAvailable || os.Getenv(stageProcessEnv) == "1" {
		b.Skip("needs root and the thread start")
	}
	for _, mode := range []string{"host", "auto"} {
		b.Run(mode, func(b *testing.B) {
			cfg := testConfig(b, "/bin/sh", "-c", ":")
			if mode == "auto" {
				cfg.UserNS = &IDMapping{UID: 1000000, GID: 1000000, Size: 65536}
			}
			devNull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
			if err != nil {
				b.Fatal(err)
			}
			defer devNull.Close()
			b.ResetTimer()
			for b.Loop() {
				c, err := Start(cfg, StartOptions{Stdin: devNull, Stdout: devNull, Stderr: devNull})
				if err != nil {
					b.Fatal(err)
				}
				if status, err := c.Wait(); err != nil || status != 0 {
					b.Fatalf("exit %d, %v", status, err)
				}
			}
		})
	}
}

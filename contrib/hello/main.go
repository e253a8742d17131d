// Command hello is dockah's demo and test server: a small static HTTP
// server that takes its listening sockets from systemd (sd_listen_fds) or,
// when given none or told to ignore them, binds its own address.
//
// Every request is answered and logged to stdout, so a test can see both
// the answer and the journal line; /info reports what the server can see
// of its surroundings (pid, hostname, uid, network interfaces, processes),
// which is how the container tests prove isolation; /syslog writes a line
// to /dev/log.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/syslog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
)

func main() {
	listen := flag.String("listen", envOr("HELLO_LISTEN", ":8080"), "address to bind when no socket is passed")
	ignoreFDs := flag.Bool("ignore-listen-fds", os.Getenv("HELLO_IGNORE_LISTEN_FDS") == "1", "bind -listen even when systemd passes sockets")
	greeting := flag.String("greeting", envOr("HELLO_GREETING", "hello from dockah"), "first line of every answer")
	also := flag.String("also-listen", os.Getenv("HELLO_ALSO_LISTEN"), "an address to bind besides the passed sockets")
	flag.Parse()

	if err := run(*listen, *also, *ignoreFDs, *greeting); err != nil {
		fmt.Fprintf(os.Stderr, "hello: %v\n", err)
		os.Exit(1)
	}
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func run(listen, also string, ignoreFDs bool, greeting string) error {
	listeners, how, err := listeners(listen, ignoreFDs)
	if err != nil {
		return err
	}
	if also != "" {
		l, err := net.Listen("tcp", also)
		if err != nil {
			return err
		}
		listeners = append(listeners, l)
		how += ", and bound " + also
	}
	fmt.Printf("hello: pid %d serving on %s (%s)\n", os.Getpid(), addrs(listeners), how)

	srv := &http.Server{Handler: handler(greeting), ReadHeaderTimeout: 10 * time.Second}
	var wg sync.WaitGroup
	errs := make(chan error, len(listeners))
	for _, l := range listeners {
		wg.Add(1)
		go func(l net.Listener) {
			defer wg.Done()
			if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errs <- err
			}
		}(l)
	}

	stop := make(chan os.Signal, 1)
	// As pid 1 of a pid namespace a signal without a handler is ignored,
	// so handle the stop signals explicitly.
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT)
	select {
	case sig := <-stop:
		fmt.Printf("hello: %v, shutting down\n", sig)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(ctx)
	case err := <-errs:
		return err
	}
}

// listeners returns the sockets systemd passed, or one bound to listen.
func listeners(listen string, ignoreFDs bool) ([]net.Listener, string, error) {
	if !ignoreFDs {
		// Listeners unsets LISTEN_*; keep the names for the log line.
		names := os.Getenv("LISTEN_FDNAMES")
		ls, err := activation.Listeners()
		if err != nil {
			return nil, "", fmt.Errorf("take passed sockets: %w", err)
		}
		var usable []net.Listener
		for _, l := range ls {
			if l != nil {
				usable = append(usable, l)
			}
		}
		if len(usable) > 0 {
			return usable, "socket-activated, LISTEN_FDNAMES=" + names, nil
		}
	}
	l, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, "", err
	}
	return []net.Listener{l}, "bound itself", nil
}

func addrs(ls []net.Listener) string {
	var s []string
	for _, l := range ls {
		s = append(s, l.Addr().String())
	}
	return strings.Join(s, ", ")
}

func handler(greeting string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Printf("hello: %s %s\n", r.Method, r.URL.Path)
		fmt.Fprintf(w, "%s\n", greeting)
	})
	mux.HandleFunc("/info", func(w http.ResponseWriter, r *http.Request) {
		fmt.Printf("hello: %s %s\n", r.Method, r.URL.Path)
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(describe())
	})
	mux.HandleFunc("/bytes", func(w http.ResponseWriter, r *http.Request) {
		// A body of n zero bytes, for throughput benchmarks; not logged.
		n, err := strconv.ParseInt(r.URL.Query().Get("n"), 10, 64)
		if err != nil || n < 0 {
			http.Error(w, "want /bytes?n=COUNT", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		chunk := make([]byte, 256<<10)
		for n > 0 {
			m := min(n, int64(len(chunk)))
			if _, err := w.Write(chunk[:m]); err != nil {
				return
			}
			n -= m
		}
	})
	mux.HandleFunc("/syslog", func(w http.ResponseWriter, r *http.Request) {
		msg := r.URL.Query().Get("msg")
		if msg == "" {
			msg = "hello via syslog"
		}
		logger, err := syslog.New(syslog.LOG_INFO|syslog.LOG_DAEMON, "hello")
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer logger.Close()
		if err := logger.Info(msg); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "logged")
	})
	return mux
}

// Info is what /info reports.
type Info struct {
	PID        int      `json:"pid"`
	PPID       int      `json:"ppid"`
	UID        int      `json:"uid"`
	GID        int      `json:"gid"`
	Groups     []int    `json:"groups"`
	Hostname   string   `json:"hostname"`
	Cwd        string   `json:"cwd"`
	Interfaces []string `json:"interfaces"`
	Processes  []int    `json:"processes"`
	Env        []string `json:"env"`
	RootFiles  []string `json:"root_files"`
}

func describe() Info {
	info := Info{PID: os.Getpid(), PPID: os.Getppid(), UID: os.Getuid(), GID: os.Getgid(), Env: os.Environ()}
	info.Groups, _ = os.Getgroups()
	info.Hostname, _ = os.Hostname()
	info.Cwd, _ = os.Getwd()
	if ifs, err := net.Interfaces(); err == nil {
		for _, i := range ifs {
			info.Interfaces = append(info.Interfaces, i.Name)
		}
	}
	if entries, err := os.ReadDir("/proc"); err == nil {
		for _, e := range entries {
			if pid, err := strconv.Atoi(e.Name()); err == nil {
				info.Processes = append(info.Processes, pid)
			}
		}
	}
	if entries, err := os.ReadDir("/"); err == nil {
		for _, e := range entries {
			info.RootFiles = append(info.RootFiles, e.Name())
		}
	}
	sort.Ints(info.Processes)
	return info
}

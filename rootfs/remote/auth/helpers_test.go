package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/dockah/dockah/tests/testenv"
)

// testHelperName is the helper the tests build: docker-credential-dockahtest.
const testHelperName = "dockahtest"

var (
	helperOnce sync.Once
	helperDir  string
	helperErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if helperDir != "" {
		os.RemoveAll(helperDir)
	}
	os.Exit(code)
}

// realHelper builds testdata/credhelper as docker-credential-dockahtest
// (once), puts it first on $PATH, and gives it a fresh store holding
// initial. It returns the file where the helper logs its calls.
func realHelper(t *testing.T, initial map[string]helperCreds) (logFile string) {
	t.Helper()
	testenv.RequireCommand(t, "go")
	helperOnce.Do(func() {
		helperDir, helperErr = os.MkdirTemp("", "dockah-credhelper-")
		if helperErr != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", filepath.Join(helperDir, "docker-credential-"+testHelperName), "./testdata/credhelper").CombinedOutput()
		if err != nil {
			helperErr = fmt.Errorf("go build ./testdata/credhelper: %v\n%s", err, out)
		}
	})
	if helperErr != nil {
		t.Fatal(helperErr)
	}
	dir := t.TempDir()
	store := filepath.Join(dir, "store.json")
	data, err := json.Marshal(initial)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(store, data, 0o600); err != nil {
		t.Fatal(err)
	}
	logFile = filepath.Join(dir, "calls.log")
	t.Setenv("PATH", helperDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("CREDHELPER_STORE", store)
	t.Setenv("CREDHELPER_LOG", logFile)
	return logFile
}

// helperCalls reads the helper's log: one "ACTION SERVER" per call.
func helperCalls(t *testing.T, logFile string) []string {
	t.Helper()
	data, err := os.ReadFile(logFile)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

// helperStoreContents reads the real helper's store.
func helperStoreContents(t *testing.T) map[string]helperCreds {
	t.Helper()
	data, err := os.ReadFile(os.Getenv("CREDHELPER_STORE"))
	if err != nil {
		t.Fatal(err)
	}
	store := map[string]helperCreds{}
	if err := json.Unmarshal(data, &store); err != nil {
		t.Fatal(err)
	}
	return store
}

// fakeRunner is an in-memory helper for the tests of the lookup rules
// that need no real program.
type fakeRunner struct {
	creds map[string]map[string]helperCreds // helper -> server -> creds
	calls []string
}

func (f *fakeRunner) Run(_ context.Context, helper, action string, input []byte) ([]byte, error) {
	f.calls = append(f.calls, helper+" "+action+" "+string(input))
	if action != "get" {
		return nil, fmt.Errorf("fake runner: %s not supported", action)
	}
	c, ok := f.creds[helper][string(input)]
	if !ok {
		return []byte("credentials not found in native keychain\n"), fmt.Errorf("exit status 1")
	}
	return json.Marshal(c)
}

// basic is the "auth" value of user and password.
func basic(user, password string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
}

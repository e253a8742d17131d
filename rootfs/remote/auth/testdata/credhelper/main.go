// Command credhelper is a docker-credential-helpers protocol program for
// the tests of package auth: it keeps credentials in the JSON file named
// by $CREDHELPER_STORE and appends "ACTION SERVER" lines (never secrets)
// to $CREDHELPER_LOG.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

type creds struct {
	ServerURL string `json:",omitempty"`
	Username  string
	Secret    string
}

func main() {
	if len(os.Args) != 2 {
		fail("usage: docker-credential-NAME get|store|erase|list")
	}
	action := os.Args[1]
	input, err := io.ReadAll(os.Stdin)
	if err != nil {
		fail(err.Error())
	}
	store := load()
	server := strings.TrimSpace(string(input))
	switch action {
	case "get":
		c, ok := store[server]
		logCall(action, server)
		if !ok {
			fail("credentials not found in native keychain")
		}
		c.ServerURL = server
		json.NewEncoder(os.Stdout).Encode(c)
	case "store":
		var c creds
		if err := json.Unmarshal(input, &c); err != nil {
			fail(err.Error())
		}
		logCall(action, c.ServerURL)
		store[c.ServerURL] = creds{Username: c.Username, Secret: c.Secret}
		save(store)
	case "erase":
		logCall(action, server)
		if _, ok := store[server]; !ok {
			fail("credentials not found in native keychain")
		}
		delete(store, server)
		save(store)
	default:
		fail("unknown action " + action)
	}
}

func load() map[string]creds {
	store := map[string]creds{}
	data, err := os.ReadFile(os.Getenv("CREDHELPER_STORE"))
	if err == nil {
		if err := json.Unmarshal(data, &store); err != nil {
			fail(err.Error())
		}
	}
	if store == nil { // the file said null
		store = map[string]creds{}
	}
	return store
}

func save(store map[string]creds) {
	data, _ := json.Marshal(store)
	if err := os.WriteFile(os.Getenv("CREDHELPER_STORE"), data, 0o600); err != nil {
		fail(err.Error())
	}
}

func logCall(action, server string) {
	f, err := os.OpenFile(os.Getenv("CREDHELPER_LOG"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%s %s\n", action, server)
}

// fail prints msg on standard output, where the protocol wants it, and
// exits 1.
func fail(msg string) {
	fmt.Println(msg)
	os.Exit(1)
}

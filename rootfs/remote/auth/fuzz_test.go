package auth

import "testing"

// FuzzParse feeds hostile credentials files to the parser, the lookup
// and the editor: nothing panics, and a file the editor accepts is
// written back in a form it accepts again.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		existingFile,
		`{"auths": {"quay.io": {"auth": "` + basic("u", "p") + `"}}}`,
		`{"https://index.docker.io/v1/": {"auth": "dXNlcg==", "email": "x"}}`,
		`{"auths": {"reg/ns": {"identitytoken": "t"}}, "credsStore": "desktop"}`,
		`null`,
		`{"auths": null}`,
	} {
		f.Add([]byte(seed), "quay.io/ns/img")
	}
	f.Fuzz(func(t *testing.T, data []byte, repo string) {
		for _, legacy := range []bool{false, true} {
			c, err := parse("fuzz.json", data, legacy)
			if err != nil {
				continue
			}
			n := normalizeRepo(repo)
			c.credential(n)
			c.helperFor(n)
		}
		doc, err := decodeDocument("fuzz.json", data)
		if err != nil {
			return
		}
		auths, err := doc.auths()
		if err != nil {
			return
		}
		auths["quay.io"] = []byte(`{"auth":"dTpw"}`)
		if err := doc.setAuths(auths); err != nil {
			t.Fatal(err)
		}
		out, err := doc.encode()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := decodeDocument("fuzz.json", out); err != nil {
			t.Errorf("the edited file does not parse: %v\n%s", err, out)
		}
	})
}

package registries

import "strings"

// dockerHub is the name registries.conf uses for Docker Hub.
const dockerHub = "docker.io"

// normalize rewrites Docker Hub's other host names to docker.io and adds
// the implied library/ namespace to its one-component repositories, as
// containers-registries.conf(5) asks prefixes to be written.
func normalize(ref string) string {
	host, rest, ok := strings.Cut(ref, "/")
	if !ok {
		return ref
	}
	switch host {
	case "index.docker.io", "registry-1.docker.io":
		host = dockerHub
	}
	if host == dockerHub && !strings.Contains(repoPart(rest), "/") {
		rest = "library/" + rest
	}
	return host + "/" + rest
}

// repoPart returns the repository path of a reference without its host,
// dropping a tag and a digest.
func repoPart(rest string) string {
	repo, _ := splitTagDigest(rest)
	return repo
}

// splitTagDigest splits a name into its repository and the ":tag",
// "@digest" or ":tag@digest" that follows it.
func splitTagDigest(name string) (repo, suffix string) {
	end := len(name)
	if i := strings.IndexByte(name, '@'); i >= 0 {
		end = i
	}
	if i := strings.LastIndexByte(name[:end], ':'); i > strings.LastIndexByte(name[:end], '/') {
		end = i
	}
	return name[:end], name[end:]
}

// isShortName reports whether name has no registry host: its first
// component, if another follows, has no '.' or ':' and is not
// "localhost" (the rule of Docker and containers/image).
func isShortName(name string) bool {
	first, _, ok := strings.Cut(name, "/")
	if !ok {
		return true
	}
	return !strings.ContainsAny(first, ".:") && first != "localhost"
}

// validRepoPath reports whether path is a repository path: components of
// lower-case letters and digits joined by '.', '_' or '-', separated by
// '/'.
func validRepoPath(path string) bool {
	if path == "" {
		return false
	}
	for _, comp := range strings.Split(path, "/") {
		if comp == "" || !isAlnum(comp[0]) || !isAlnum(comp[len(comp)-1]) {
			return false
		}
		for i := 0; i < len(comp); i++ {
			if c := comp[i]; !isAlnum(c) && c != '.' && c != '_' && c != '-' {
				return false
			}
		}
	}
	return true
}

// validSuffix reports whether suffix is empty or a valid ":tag",
// "@digest" or ":tag@digest".
func validSuffix(suffix string) bool {
	tag, digest, hasDigest := strings.Cut(suffix, "@")
	if tag != "" {
		t := tag[1:]
		if len(t) == 0 || len(t) > 128 || t[0] == '.' || t[0] == '-' {
			return false
		}
		for i := 0; i < len(t); i++ {
			if c := t[i]; !isAlnum(c) && !isUpper(c) && c != '.' && c != '_' && c != '-' {
				return false
			}
		}
	}
	if hasDigest {
		algo, hex, ok := strings.Cut(digest, ":")
		return ok && algo != "" && hex != "" && !strings.ContainsAny(digest, "/@ \t")
	}
	return true
}

// validHost reports whether h is a registry host[:port]: a DNS name or
// an IPv4 address, or a bracketed IPv6 address, with an optional numeric
// port.
func validHost(h string) bool {
	name, port := h, ""
	if strings.HasPrefix(h, "[") {
		end := strings.IndexByte(h, ']')
		if end < 0 || strings.Trim(h[1:end], "0123456789abcdefABCDEF:.") != "" {
			return false
		}
		name, port = "x", h[end+1:]
		if port != "" && port[0] != ':' {
			return false
		}
	} else if i := strings.IndexByte(h, ':'); i >= 0 {
		name, port = h[:i], h[i:]
	}
	if port != "" && (len(port) == 1 || strings.Trim(port[1:], "0123456789") != "") {
		return false
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !isAlnum(c) && !isUpper(c) && c != '-' {
				return false
			}
		}
	}
	return true
}

func isAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

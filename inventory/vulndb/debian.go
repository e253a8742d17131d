package vulndb

import (
	"encoding/json"
	"fmt"
	"io"
)

// trackerCVE is one CVE of a source package in Debian's security
// tracker JSON.
type trackerCVE struct {
	Description string                    `json:"description"`
	Releases    map[string]trackerRelease `json:"releases"`
}

type trackerRelease struct {
	Status       string `json:"status"` // resolved, open, undetermined
	FixedVersion string `json:"fixed_version"`
	Urgency      string `json:"urgency"`
}

// parseTracker reads the tracker's JSON, {"SOURCE": {"CVE-…": {...}}},
// as a stream, keeping the source packages want says yes to: the whole
// document is tens of megabytes and most of it is of no interest.
func parseTracker(r io.Reader, want func(source string) bool) (map[string]map[string]trackerCVE, error) {
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return nil, err
	}
	out := map[string]map[string]trackerCVE{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("Debian security tracker: %w", err)
		}
		source, _ := tok.(string)
		if !want(source) {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, fmt.Errorf("Debian security tracker: %s: %w", source, err)
			}
			continue
		}
		var cves map[string]trackerCVE
		if err := dec.Decode(&cves); err != nil {
			return nil, fmt.Errorf("Debian security tracker: %s: %w", source, err)
		}
		out[source] = cves
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, err
	}
	return out, nil
}

func expectDelim(dec *json.Decoder, d json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("Debian security tracker: %w", err)
	}
	if tok != d {
		return fmt.Errorf("Debian security tracker: want %q, found %v", d, tok)
	}
	return nil
}

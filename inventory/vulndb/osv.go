package vulndb

import (
	"encoding/json"
	"fmt"
	"strings"
)

// osvRecord is the part of an OSV record matching needs.
type osvRecord struct {
	ID        string        `json:"id"`
	Aliases   []string      `json:"aliases"`
	Upstream  []string      `json:"upstream"`
	Summary   string        `json:"summary"`
	Withdrawn string        `json:"withdrawn"`
	Affected  []osvAffected `json:"affected"`
}

type osvAffected struct {
	Package struct {
		Ecosystem string `json:"ecosystem"`
		Name      string `json:"name"`
	} `json:"package"`
	Ranges   []osvRange `json:"ranges"`
	Versions []string   `json:"versions"`
}

type osvRange struct {
	Type   string     `json:"type"` // ECOSYSTEM, SEMVER, GIT
	Repo   string     `json:"repo"`
	Events []osvEvent `json:"events"`
}

type osvEvent struct {
	Introduced   string `json:"introduced,omitempty"`
	Fixed        string `json:"fixed,omitempty"`
	LastAffected string `json:"last_affected,omitempty"`
	Limit        string `json:"limit,omitempty"`
}

// parseOSV reads one OSV record, or an array of them (as some feeds
// publish).
func parseOSV(data []byte) ([]osvRecord, error) {
	trimmed := strings.TrimLeft(string(data[:min(len(data), 64)]), " \t\r\n")
	if strings.HasPrefix(trimmed, "[") {
		var recs []osvRecord
		if err := json.Unmarshal(data, &recs); err != nil {
			return nil, fmt.Errorf("OSV records: %w", err)
		}
		return recs, nil
	}
	var rec osvRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, fmt.Errorf("OSV record: %w", err)
	}
	if rec.ID == "" {
		return nil, fmt.Errorf("OSV record: no id")
	}
	return []osvRecord{rec}, nil
}

// cve is the CVE a record is about: its ID, or the first CVE among its
// aliases and upstream IDs, or its ID.
func (r *osvRecord) cve() string {
	if strings.HasPrefix(r.ID, "CVE-") {
		return r.ID
	}
	for _, ids := range [][]string{r.Aliases, r.Upstream} {
		for _, a := range ids {
			if strings.HasPrefix(a, "CVE-") {
				return a
			}
		}
	}
	return r.ID
}

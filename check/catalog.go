// Package check holds sshdoctor's finding catalog and the pure functions that
// turn facts gathered by probes and host inspectors into findings.
//
// Every finding code is registered exactly once, together with the text that
// `sshdoctor explain CODE` prints: what the code means, how it is detected and
// how to fix it. Check functions never do I/O.
package check

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/sshdoctor/sshdoctor/internal/textdist"
)

// Severity is how bad a finding is. Only SeverityError makes a report fail.
type Severity string

// The severities a finding can have; the strings are part of the JSON contract.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
	SeverityInfo    Severity = "info"
)

// Layer names a step in the causal chain. Findings of an earlier layer explain
// findings of a later one, so the verdict is the first error finding by layer.
type Layer int

// The layers of `check` (client side) and then `server`, in causal order.
const (
	LayerDestination Layer = iota
	LayerDNS
	LayerNet
	LayerTCP
	LayerTransport // banner and key exchange
	LayerHostKey
	LayerAuth
	LayerClient // client-side key files; shown with auth

	LayerInstall Layer = 100 + iota
	LayerConfig
	LayerService
	LayerListen
	LayerFirewall
	LayerBans
	LayerAccess
	LayerAccount
	LayerKeys
	LayerLogs
)

// Doc is the documentation and metadata of one finding code. The same struct
// feeds `sshdoctor explain`, the human renderer and the JSON report.
type Doc struct {
	// Code is the stable identifier, e.g. "tcp.rejected". Never renamed.
	Code string
	// Severity is the default severity of findings with this code.
	Severity Severity
	// Layer places the code in the causal order used to pick the verdict.
	Layer Layer
	// Title is a one-line, human summary ("A firewall rejects the connection").
	Title string
	// Meaning says what the finding means for the user, in a paragraph.
	Meaning string
	// Detection says how sshdoctor detects it, so users can judge the evidence.
	Detection string
	// Fix says what to do about it, in general terms; findings carry the exact
	// commands for the case at hand.
	Fix string
}

var (
	mu       sync.RWMutex
	registry = map[string]*Doc{}
)

// Register adds a code to the catalog and returns its Doc. It panics when the
// code is already registered or the Doc is incomplete: both are programming
// errors that tests catch at init time.
func Register(d Doc) *Doc {
	mu.Lock()
	defer mu.Unlock()
	if d.Code == "" || d.Title == "" || d.Meaning == "" || d.Detection == "" || d.Fix == "" {
		panic(fmt.Sprintf("check: incomplete doc for %q", d.Code))
	}
	switch d.Severity {
	case SeverityError, SeverityWarning, SeverityInfo:
	default:
		panic(fmt.Sprintf("check: bad severity %q for %q", d.Severity, d.Code))
	}
	if _, dup := registry[d.Code]; dup {
		panic(fmt.Sprintf("check: duplicate code %q", d.Code))
	}
	dd := d
	registry[d.Code] = &dd
	return &dd
}

// Lookup returns the Doc of a code.
func Lookup(code string) (*Doc, bool) {
	mu.RLock()
	defer mu.RUnlock()
	d, ok := registry[code]
	return d, ok
}

// All returns every registered Doc, in causal order and then by code.
func All() []*Doc {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]*Doc, 0, len(registry))
	for _, d := range registry {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Layer != out[j].Layer {
			return out[i].Layer < out[j].Layer
		}
		return out[i].Code < out[j].Code
	})
	return out
}

// Similar returns registered codes that look like code: those sharing its
// prefix or suffix, or within a small edit distance. It serves the "did you
// mean" hint of `sshdoctor explain`.
func Similar(code string) []string {
	code = strings.ToLower(strings.TrimSpace(code))
	type cand struct {
		code string
		dist int
	}
	var cands []cand
	for _, d := range All() {
		dist := textdist.Levenshtein(code, d.Code)
		prefix, _, _ := strings.Cut(d.Code, ".")
		_, suffix, _ := strings.Cut(d.Code, ".")
		switch {
		case dist <= 3:
		case code != "" && (strings.Contains(d.Code, code) || code == prefix || code == suffix):
			dist = 4
		default:
			continue
		}
		cands = append(cands, cand{d.Code, dist})
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].dist < cands[j].dist })
	var out []string
	for i, c := range cands {
		if i == 8 {
			break
		}
		out = append(out, c.code)
	}
	return out
}

package check

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
)

// Finding is one diagnosed fact about the connection or the server, with the
// evidence that supports it and the fix. Its JSON form is fixed by the
// sshdoctor/v1 contract.
type Finding struct {
	Code     string   `json:"code"`
	Severity Severity `json:"severity"`
	Title    string   `json:"title"`
	// Detail explains this instance of the finding, in a sentence or two.
	Detail string `json:"detail"`
	// Evidence holds the facts the finding rests on, in display order.
	Evidence Evidence `json:"evidence"`
	// Fix is nil (JSON null) when there is nothing to do.
	Fix *Fix `json:"fix"`
}

// Fix says what to do: a summary and commands that can be pasted as they are.
type Fix struct {
	Summary  string   `json:"summary"`
	Commands []string `json:"commands,omitempty"`
	// Warning tells the cost or risk of the fix (weak algorithms, a possible
	// attack). Empty means none worth saying.
	Warning string `json:"warning,omitempty"`
}

// KV is one piece of evidence. Value is a string, a number, a bool, or a
// slice of those.
type KV struct {
	Key   string
	Value any
}

// Evidence is an ordered list of key/value facts. It marshals to a JSON
// object whose keys keep their order, so the JSON reads like the text output.
type Evidence []KV

// MarshalJSON writes the evidence as a JSON object in order.
func (e Evidence) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, kv := range e {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(kv.Key)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(kv.Value)
		if err != nil {
			return nil, fmt.Errorf("evidence %q: %w", kv.Key, err)
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads an evidence object; keys come back sorted, since JSON
// objects carry no order. Used by tests and by tools that read reports.
func (e *Evidence) UnmarshalJSON(data []byte) error {
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	*e = (*e)[:0]
	for _, k := range keys {
		*e = append(*e, KV{k, m[k]})
	}
	return nil
}

// Get returns the value of key, or nil.
func (e Evidence) Get(key string) any {
	for _, kv := range e {
		if kv.Key == key {
			return kv.Value
		}
	}
	return nil
}

// New makes a finding for a registered code, with the code's default severity
// and title. It panics on an unknown code: that is a programming error.
func New(code, detail string, evidence ...KV) Finding {
	d, ok := Lookup(code)
	if !ok {
		panic("check: unknown code " + code)
	}
	return Finding{Code: code, Severity: d.Severity, Title: d.Title, Detail: detail, Evidence: Evidence(evidence)}
}

// WithFix returns f with its fix set.
func (f Finding) WithFix(summary string, commands ...string) Finding {
	f.Fix = &Fix{Summary: summary, Commands: commands}
	return f
}

// WithWarning returns f with a warning added to its fix.
func (f Finding) WithWarning(w string) Finding {
	if f.Fix == nil {
		f.Fix = &Fix{}
	}
	fx := *f.Fix
	fx.Warning = w
	f.Fix = &fx
	return f
}

// WithSeverity returns f with another severity.
func (f Finding) WithSeverity(s Severity) Finding {
	f.Severity = s
	return f
}

// E is shorthand for building one piece of evidence.
func E(key string, value any) KV { return KV{key, value} }

// LayerOf returns the causal layer of a code; unknown codes sort last.
func LayerOf(code string) Layer {
	if d, ok := Lookup(code); ok {
		return d.Layer
	}
	return Layer(1 << 30)
}

// Verdict returns the root-cause finding: the first error finding in causal
// order (ties keep report order), or nil when there is none.
func Verdict(findings []Finding) *Finding {
	var best *Finding
	for i := range findings {
		f := &findings[i]
		if f.Severity != SeverityError {
			continue
		}
		if best == nil || LayerOf(f.Code) < LayerOf(best.Code) {
			best = f
		}
	}
	return best
}

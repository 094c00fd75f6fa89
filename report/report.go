// Package report holds the sshdoctor/v1 report and renders it as JSON or as
// text for people.
package report

import (
	"encoding/json"
	"io"
	"sort"

	"github.com/sshdoctor/sshdoctor/check"
)

// Schema is the value of the "schema" field of every report.
const Schema = "sshdoctor/v1"

// Exit statuses, fixed by the contract.
const (
	ExitOK     = 0 // no finding of severity error
	ExitFailed = 1 // at least one error finding
	ExitUsage  = 2 // bad usage or bad input
	ExitTool   = 3 // the tool itself failed
)

// Report is one diagnosis, in the form fixed by the contract.
type Report struct {
	Schema  string  `json:"schema"`
	Command string  `json:"command"`
	Target  *Target `json:"target,omitempty"`
	OK      bool    `json:"ok"`
	// Verdict is the root cause; nil (JSON null) when OK.
	Verdict  *Verdict        `json:"verdict"`
	Findings []check.Finding `json:"findings"`
	Steps    []Step          `json:"steps"`
	// Notes say plainly what could not be known ("offline tree: whether
	// sshd runs cannot be known"); omitted when empty.
	Notes []string `json:"notes,omitempty"`

	// Subject names what was diagnosed in the human headline ("ssh to
	// bob@web1"); empty means the command name. Not part of the JSON.
	Subject string `json:"-"`
	// OKSummary is the human headline when OK ("the server accepts key
	// SHA256:..."); empty means a generic sentence. Not part of the JSON.
	OKSummary string `json:"-"`
}

// Target says what was diagnosed.
type Target struct {
	// Input is the destination exactly as the user gave it.
	Input string `json:"input"`
	// Host is the host name or address connected to, after the ssh client
	// configuration (HostName) was applied.
	Host string `json:"host"`
	// Port is the TCP port; 0 means not applicable (server inspections).
	Port int `json:"port,omitempty"`
	// User is the login name; empty means not known.
	User string `json:"user,omitempty"`
	// Addresses are the addresses the host resolved to, in the order tried.
	Addresses []string `json:"addresses"`
	// Root is the offline tree inspected by `server --root`; empty means live.
	Root string `json:"root,omitempty"`
}

// Verdict names the root cause of a failing report.
type Verdict struct {
	Code    string `json:"code"`
	Title   string `json:"title"`
	Summary string `json:"summary"`
}

// Step statuses.
const (
	StepOK   = "ok"
	StepFail = "fail"
	StepWarn = "warn"
	StepSkip = "skip"
)

// Step is one rung of the layer ladder: what ran, how it ended, how long it took.
type Step struct {
	Name   string  `json:"name"`
	Status string  `json:"status"`
	MS     float64 `json:"ms"`
	// Detail is a short note for the ladder ("10.0.0.5:22 open"); may be empty.
	Detail string `json:"detail,omitempty"`
}

// New starts a report for a command.
func New(command string) *Report {
	return &Report{Schema: Schema, Command: command, Findings: []check.Finding{}, Steps: []Step{}}
}

// Finalize orders the findings causally (stable within a layer), and sets OK
// and the verdict. Call it once all findings are in.
func (r *Report) Finalize() {
	sort.SliceStable(r.Findings, func(i, j int) bool {
		return check.LayerOf(r.Findings[i].Code) < check.LayerOf(r.Findings[j].Code)
	})
	v := check.Verdict(r.Findings)
	r.OK = v == nil
	r.Verdict = nil
	if v != nil {
		r.Verdict = &Verdict{Code: v.Code, Title: v.Title, Summary: v.Detail}
	}
}

// ExitCode returns the exit status the contract gives for this report.
func (r *Report) ExitCode() int {
	if r.OK {
		return ExitOK
	}
	return ExitFailed
}

// Has reports whether a finding with this code is in the report.
func (r *Report) Has(code string) bool {
	return r.Find(code) != nil
}

// Find returns the first finding with this code, or nil.
func (r *Report) Find(code string) *check.Finding {
	for i := range r.Findings {
		if r.Findings[i].Code == code {
			return &r.Findings[i]
		}
	}
	return nil
}

// WriteJSON writes the report as one JSON document followed by a newline.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// WriteJSONLine writes the report on a single line (JSON Lines, for scan).
func WriteJSONLine(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

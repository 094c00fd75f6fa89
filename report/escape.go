package report

import "github.com/sshdoctor/sshdoctor/internal/escape"

// Escape makes text safe to print on a terminal. It leaves backslashes
// alone, since evidence from the network is already escaped with
// escape.String and must not be escaped twice; control characters are
// always neutralised.
func Escape(s string) string { return escape.Terminal(s) }

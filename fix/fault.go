package fix

import (
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
)

// Fault injection for the crash tests: SSHDOCTOR_FAULT=POINT:N makes the
// process kill itself with SIGKILL the Nth time it reaches POINT (N counts
// from 1). The points are: "before-rename" (a new file is complete but not
// yet in place), "after-backup" (a step's backup is journalled, the step
// not yet done), "after-step" (a step is done, not yet journalled as done).
// Unset, it costs one environment lookup per point.

var faultHits atomic.Int64

func fault(point string) {
	spec := os.Getenv("SSHDOCTOR_FAULT")
	if spec == "" {
		return
	}
	name, nth, ok := strings.Cut(spec, ":")
	if !ok || name != point {
		return
	}
	n, err := strconv.Atoi(nth)
	if err != nil {
		return
	}
	if faultHits.Add(1) == int64(n) {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // SIGKILL cannot be caught; wait for it
	}
}

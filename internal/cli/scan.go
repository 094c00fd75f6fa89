package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sshdoctor/sshdoctor/dest"
	"github.com/sshdoctor/sshdoctor/internal/diag"
	"github.com/sshdoctor/sshdoctor/internal/escape"
	"github.com/sshdoctor/sshdoctor/report"
)

func runScan(e *env, args []string) error {
	fs := newFlagSet("scan", "sshdoctor scan [flags] TARGETS...   (or --file FILE, '-' for stdin)")
	var df diagFlags
	df.register(fs)
	file := fs.String("file", "", "read destinations from FILE, one per line, '#' comments; '-' for stdin")
	concurrency := fs.Int("concurrency", 16, "how many destinations to diagnose at once")
	listen := fs.String("listen", "", "serve Prometheus metrics on this address (e.g. :9922) and scan again every --interval")
	interval := durationFlag(5 * time.Minute)
	fs.Var(&interval, "interval", "time between scans with --listen")
	pos, err := fs.parse(args, e.stdout)
	if err == errHelp {
		return nil
	} else if err != nil {
		return err
	}
	targets := append([]string(nil), pos...)
	if *file != "" {
		t, err := readTargets(*file)
		if err != nil {
			return err
		}
		targets = append(targets, t...)
	}
	if len(targets) == 0 {
		return usagef("give destinations as arguments or with --file", "scan needs at least one destination")
	}
	for _, t := range targets {
		if _, err := dest.Parse(t); err != nil {
			var de *dest.Error
			if errors.As(err, &de) {
				return &UsageError{Msg: de.Error(), Hint: de.Hint}
			}
			return err
		}
	}
	if *concurrency < 1 {
		return usagef("give --concurrency 1 or more", "--concurrency %d is not a number of workers", *concurrency)
	}
	if *listen != "" {
		return e.serveMetrics(*listen, time.Duration(interval), targets, df, *concurrency)
	}
	results := e.scan(e.ctx, targets, df, *concurrency, func(r *report.Report, err error, target string) {
		switch {
		case err != nil:
			fmt.Fprintf(e.stderr, "sshdoctor: %s: %s\n", escape.String(target), oneLine(err.Error()))
		case df.json:
			_ = report.WriteJSONLine(e.stdout, r)
		default:
			fmt.Fprintln(e.stdout, scanLine(r))
		}
	})
	failed, broken := 0, 0
	for _, r := range results {
		switch {
		case r.err != nil:
			broken++
		case !r.report.OK:
			failed++
		}
	}
	if !df.json {
		fmt.Fprintf(e.stdout, "\n%d destinations: %d fine, %d failing, %d not diagnosed\n", len(results), len(results)-failed-broken, failed, broken)
	}
	switch {
	case broken > 0:
		return exitError(report.ExitTool)
	case failed > 0:
		return exitError(report.ExitFailed)
	}
	return nil
}

type scanResult struct {
	target string
	report *report.Report
	err    error
}

// scan diagnoses targets with a bounded number of workers and calls done as
// each finishes (serialised).
func (e *env) scan(ctx context.Context, targets []string, df diagFlags, workers int, done func(*report.Report, error, string)) []scanResult {
	jobs := make(chan string)
	var mu sync.Mutex
	var out []scanResult
	var wg sync.WaitGroup
	for range min(workers, len(targets)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range jobs {
				o, err := checkOptions(e, t, df)
				var r *report.Report
				if err == nil {
					r, _, err = diag.Check(ctx, o)
				}
				mu.Lock()
				out = append(out, scanResult{t, r, err})
				done(r, err, t)
				mu.Unlock()
			}
		}()
	}
	for _, t := range targets {
		select {
		case jobs <- t:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	return out
}

func scanLine(r *report.Report) string {
	in := r.Target.Input
	if r.OK {
		return fmt.Sprintf("✓ %-30s ok", escape.Terminal(in))
	}
	return fmt.Sprintf("✗ %-30s %s: %s", escape.Terminal(in), r.Verdict.Code, escape.Terminal(r.Verdict.Summary))
}

func readTargets(file string) ([]string, error) {
	var rd io.Reader
	if file == "-" {
		rd = os.Stdin
	} else {
		f, err := os.Open(file)
		if err != nil {
			return nil, usagef("give a readable file of destinations, one per line", "cannot read --file %s: %v", file, errors.Unwrap(err))
		}
		defer f.Close()
		rd = f
	}
	var out []string
	sc := bufio.NewScanner(rd)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out, sc.Err()
}

// serveMetrics is the exporter: it scans every interval and serves the last
// results as Prometheus metrics.
func (e *env) serveMetrics(addr string, every time.Duration, targets []string, df diagFlags, workers int) error {
	reg := prometheus.NewRegistry()
	up := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "sshdoctor_target_ok", Help: "1 when ssh to the target would work (no error finding)."}, []string{"target"})
	finding := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "sshdoctor_finding", Help: "1 for each finding of the last scan of a target."}, []string{"target", "code", "severity"})
	steps := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "sshdoctor_step_seconds", Help: "Duration of each diagnosis step in the last scan."}, []string{"target", "step", "status"})
	last := prometheus.NewGauge(prometheus.GaugeOpts{Name: "sshdoctor_last_scan_timestamp_seconds", Help: "When the last scan finished."})
	dur := prometheus.NewGauge(prometheus.GaugeOpts{Name: "sshdoctor_last_scan_duration_seconds", Help: "How long the last scan took."})
	reg.MustRegister(up, finding, steps, last, dur)

	scanOnce := func() {
		start := time.Now()
		results := e.scan(e.ctx, targets, df, workers, func(*report.Report, error, string) {})
		finding.Reset()
		steps.Reset()
		for _, r := range results {
			if r.err != nil {
				up.WithLabelValues(r.target).Set(0)
				continue
			}
			ok := 0.0
			if r.report.OK {
				ok = 1
			}
			up.WithLabelValues(r.target).Set(ok)
			for _, f := range r.report.Findings {
				finding.WithLabelValues(r.target, f.Code, string(f.Severity)).Set(1)
			}
			for _, s := range r.report.Steps {
				if s.Status != report.StepSkip {
					steps.WithLabelValues(r.target, s.Name, s.Status).Set(s.MS / 1000)
				}
			}
		}
		last.SetToCurrentTime()
		dur.Set(time.Since(start).Seconds())
	}
	srv := &http.Server{Addr: addr, Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	fmt.Fprintf(e.stderr, "sshdoctor: serving metrics on %s, scanning %d destinations every %s\n", addr, len(targets), every)
	scanOnce()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case err := <-errc:
			return fmt.Errorf("metrics server: %w", err)
		case <-tick.C:
			scanOnce()
		case <-e.ctx.Done():
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(ctx)
			return nil
		}
	}
}

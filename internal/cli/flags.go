package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// flagSet wraps flag.FlagSet so that flags and arguments may be mixed
// ("check web1 --json"), both -x and --x spellings work, and every parse
// error becomes a one-line UsageError.
type flagSet struct {
	*flag.FlagSet
	cmd   string
	usage string // the synopsis line, e.g. "sshdoctor check [flags] DESTINATION"
}

func newFlagSet(cmd, usage string) *flagSet {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return &flagSet{FlagSet: fs, cmd: cmd, usage: usage}
}

// errHelp is returned by parse when -h/--help was given and usage printed.
var errHelp = errors.New("help requested")

// parse parses args, collecting positional arguments wherever they appear.
// A lone "--" ends flag parsing.
func (f *flagSet) parse(args []string, helpOut io.Writer) ([]string, error) {
	var pos []string
	for {
		if err := f.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				f.printHelp(helpOut)
				return nil, errHelp
			}
			return nil, f.convert(err)
		}
		rest := f.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		// flag stops at the first non-flag; if that came after "--", the
		// rest are all positional.
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func (f *flagSet) convert(err error) error {
	msg := err.Error()
	hint := fmt.Sprintf("run 'sshdoctor %s --help' for the flags", f.cmd)
	switch {
	case strings.HasPrefix(msg, "flag provided but not defined: "):
		return usagef(hint, "unknown flag %s", strings.TrimPrefix(msg, "flag provided but not defined: "))
	case strings.HasPrefix(msg, "flag needs an argument: "):
		return usagef(hint, "flag %s needs a value", strings.TrimPrefix(msg, "flag needs an argument: "))
	}
	// "invalid value "x" for flag -p: <our message>": the flag package
	// keeps only the text of our error, so the hint comes from the value.
	if rest, ok := strings.CutPrefix(msg, "invalid value "); ok {
		if _, after, ok := strings.Cut(rest, " for flag -"); ok {
			name, _, _ := strings.Cut(after, ":")
			if fl := f.Lookup(name); fl != nil {
				if h, ok := fl.Value.(interface{ hint() string }); ok {
					hint = h.hint()
				}
			}
		}
	}
	return usagef(hint, "%s", msg)
}

func (f *flagSet) printHelp(w io.Writer) {
	fmt.Fprintf(w, "Usage: %s\n\nFlags:\n", f.usage)
	type entry struct{ names, usage string }
	var entries []entry
	byValue := map[flag.Value][]string{}
	var order []flag.Value
	f.VisitAll(func(fl *flag.Flag) {
		if _, ok := byValue[fl.Value]; !ok {
			order = append(order, fl.Value)
		}
		byValue[fl.Value] = append(byValue[fl.Value], fl.Name)
	})
	for _, v := range order {
		names := byValue[v]
		var parts []string
		for _, n := range names {
			if len(n) == 1 {
				parts = append([]string{"-" + n}, parts...)
			} else {
				parts = append(parts, "--"+n)
			}
		}
		fl := f.Lookup(names[0])
		entries = append(entries, entry{strings.Join(parts, ", "), fl.Usage})
	}
	for _, e := range entries {
		if e.usage == "" {
			continue // internal flags (fix --watch)
		}
		fmt.Fprintf(w, "  %-24s %s\n", e.names, e.usage)
	}
}

// valueError is returned by our flag.Values.
type valueError struct{ msg, hint string }

func (e *valueError) Error() string { return e.msg }

const (
	portHint     = "give a number between 1 and 65535"
	durationHint = "write it like 5s, 500ms or 2m"
)

func (p *portFlag) hint() string     { return portHint }
func (p *portList) hint() string     { return portHint }
func (d *durationFlag) hint() string { return durationHint }

// stringList is a repeatable string flag (-i a -i b).
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error {
	*s = append(*s, v)
	return nil
}

// portFlag is a TCP port; 0 means not given.
type portFlag int

func (p *portFlag) String() string { return strconv.Itoa(int(*p)) }
func (p *portFlag) Set(v string) error {
	n, err := parsePort(v)
	if err != nil {
		return err
	}
	*p = portFlag(n)
	return nil
}

func parsePort(v string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0, &valueError{fmt.Sprintf("%q is not a port number", v), portHint}
	}
	if n < 1 || n > 65535 {
		return 0, &valueError{fmt.Sprintf("port %d is out of range", n), portHint}
	}
	return n, nil
}

// portList is a comma-separated list of ports, repeatable.
type portList []int

func (p *portList) String() string {
	s := make([]string, len(*p))
	for i, n := range *p {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}
func (p *portList) Set(v string) error {
	for _, part := range strings.Split(v, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		n, err := parsePort(part)
		if err != nil {
			return err
		}
		*p = append(*p, n)
	}
	return nil
}

// durationFlag is a positive Go duration.
type durationFlag time.Duration

func (d *durationFlag) String() string { return time.Duration(*d).String() }
func (d *durationFlag) Set(v string) error {
	x, err := time.ParseDuration(v)
	if err != nil {
		// Accept plain seconds too, as ssh's ConnectTimeout does.
		if n, err2 := strconv.Atoi(v); err2 == nil {
			x = time.Duration(n) * time.Second
		} else {
			return &valueError{fmt.Sprintf("%q is not a duration", v), durationHint}
		}
	}
	if x <= 0 {
		return &valueError{fmt.Sprintf("duration %q must be positive", v), durationHint}
	}
	*d = durationFlag(x)
	return nil
}

// waitFlag is a duration that may be 0 (to turn something off).
type waitFlag time.Duration

func (d *waitFlag) String() string { return time.Duration(*d).String() }
func (d *waitFlag) Set(v string) error {
	if v == "0" {
		*d = 0
		return nil
	}
	var x durationFlag
	if err := x.Set(v); err != nil {
		return err
	}
	*d = waitFlag(x)
	return nil
}
func (d *waitFlag) hint() string { return durationHint + ", or 0 to turn it off" }

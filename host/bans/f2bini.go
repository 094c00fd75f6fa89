package bans

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/sshdoctor/sshdoctor/host"
)

// iniValue is one setting and where it was written.
type iniValue struct {
	value string
	file  string
	line  int
}

// f2bConfig is fail2ban's configuration as its ConfigReader merges it:
// later files override earlier ones, key by key.
type f2bConfig struct {
	// sections maps a section name to its settings (keys in lower case).
	sections map[string]map[string]iniValue
	// known holds, for each section and key, the value that the last
	// override replaced: what %(known/key)s refers to.
	known map[string]map[string]iniValue
	// starts records where each section last started.
	starts   map[string]iniValue
	order    []string
	problems []string
}

// iniSection is one section of one file.
type iniSection struct {
	name string
	line int
	keys []string
	vals map[string]iniValue
}

// readF2BConfig reads name.conf, name.d/*.conf, name.local, name.d/*.local
// under dir, in that order, each with its [INCLUDES] before and after
// files, as fail2ban does ("jail" or "fail2ban").
func readF2BConfig(sys host.System, dir, name string) *f2bConfig {
	c := &f2bConfig{
		sections: map[string]map[string]iniValue{},
		known:    map[string]map[string]iniValue{},
		starts:   map[string]iniValue{},
	}
	base := path.Join(dir, name)
	files := []string{base + ".conf"}
	files = append(files, globSorted(sys, base+".d", ".conf")...)
	files = append(files, base+".local")
	files = append(files, globSorted(sys, base+".d", ".local")...)
	seen := map[string]bool{}
	for _, f := range files {
		c.readWithIncludes(sys, dir, f, seen, 0)
	}
	return c
}

// globSorted lists dir/*suffix, sorted like Python's sorted(glob()).
func globSorted(sys host.System, dir, suffix string) []string {
	matches, _ := filepath.Glob(filepath.Join(sys.Path(dir), "*"+suffix))
	var out []string
	for _, m := range matches {
		out = append(out, path.Join(dir, filepath.Base(m)))
	}
	sort.Strings(out)
	return out
}

func (c *f2bConfig) readWithIncludes(sys host.System, dir, file string, seen map[string]bool, depth int) {
	if seen[file] || depth > 8 {
		return
	}
	data, err := sys.ReadFile(file)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			c.problems = append(c.problems, fmt.Sprintf("%s: %v", file, err))
		}
		return
	}
	seen[file] = true
	secs, problems := parseINI(file, data)
	c.problems = append(c.problems, problems...)
	var before, after []string
	for _, s := range secs {
		if s.name != "INCLUDES" {
			continue
		}
		before = append(before, strings.Fields(s.get("before"))...)
		after = append(after, strings.Fields(s.get("after"))...)
	}
	include := func(list []string) {
		for _, inc := range list {
			if !path.IsAbs(inc) {
				inc = path.Join(dir, inc)
			}
			c.readWithIncludes(sys, dir, inc, seen, depth+1)
			// fail2ban reads the .local next to every included file.
			if local := strings.TrimSuffix(inc, path.Ext(inc)) + ".local"; local != inc {
				c.readWithIncludes(sys, dir, local, seen, depth+1)
			}
		}
	}
	include(before)
	for _, s := range secs {
		if s.name == "INCLUDES" {
			continue
		}
		m := c.sections[s.name]
		if m == nil {
			m = map[string]iniValue{}
			c.sections[s.name] = m
			c.known[s.name] = map[string]iniValue{}
			c.order = append(c.order, s.name)
		}
		c.starts[s.name] = iniValue{file: file, line: s.line}
		for _, k := range s.keys {
			if old, ok := m[k]; ok {
				c.known[s.name][k] = old
			}
			m[k] = s.vals[k]
		}
	}
	include(after)
}

// parseINI reads a file the way Python's configparser does with fail2ban's
// settings: "key = value" or "key: value", keys in lower case, values
// continued on indented lines, full-line comments with '#' or ';', and
// inline comments after " ;".
func parseINI(file string, data []byte) ([]*iniSection, []string) {
	var secs []*iniSection
	var problems []string
	var cur *iniSection
	var lastKey string
	for i, raw := range strings.Split(string(data), "\n") {
		n := i + 1
		line := strings.TrimRight(raw, "\r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || trimmed[0] == '#' || trimmed[0] == ';' {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if cur != nil && lastKey != "" {
				v := cur.vals[lastKey]
				v.value += "\n" + stripInline(trimmed)
				cur.vals[lastKey] = v
				continue
			}
			problems = append(problems, fmt.Sprintf("%s:%d: indented line outside a setting", file, n))
			continue
		}
		if trimmed[0] == '[' {
			end := strings.IndexByte(trimmed, ']')
			if end < 0 {
				problems = append(problems, fmt.Sprintf("%s:%d: bad section header", file, n))
				continue
			}
			cur = &iniSection{name: trimmed[1:end], line: n, vals: map[string]iniValue{}}
			secs = append(secs, cur)
			lastKey = ""
			continue
		}
		j := strings.IndexAny(line, "=:")
		if j <= 0 || cur == nil {
			problems = append(problems, fmt.Sprintf("%s:%d: not a setting", file, n))
			lastKey = ""
			continue
		}
		key := strings.ToLower(strings.TrimSpace(line[:j]))
		if _, dup := cur.vals[key]; dup {
			problems = append(problems, fmt.Sprintf("%s:%d: %s set twice in [%s]", file, n, key, cur.name))
		} else {
			cur.keys = append(cur.keys, key)
		}
		cur.vals[key] = iniValue{value: stripInline(strings.TrimSpace(line[j+1:])), file: file, line: n}
		lastKey = key
	}
	return secs, problems
}

// stripInline removes a " ;" comment; fail2ban allows inline comments with
// ';' only, after white space.
func stripInline(s string) string {
	for i := 1; i < len(s); i++ {
		if s[i] == ';' && (s[i-1] == ' ' || s[i-1] == '\t') {
			return strings.TrimSpace(s[:i])
		}
	}
	return s
}

// raw returns the setting of key in section, falling back to DEFAULT.
func (c *f2bConfig) raw(section, key string) (iniValue, string, bool) {
	if v, ok := c.sections[section][key]; ok {
		return v, section, true
	}
	if v, ok := c.sections["DEFAULT"][key]; ok {
		return v, "DEFAULT", true
	}
	return iniValue{}, "", false
}

func (s *iniSection) get(k string) string { return s.vals[k].value }

var interpRE = regexp.MustCompile(`%\(([^)]+)\)s`)

// get returns the interpolated value of key in section (or DEFAULT).
func (c *f2bConfig) get(section, key string) (string, bool) {
	v, _, ok := c.raw(section, key)
	if !ok {
		return "", false
	}
	return c.interpolate(section, v.value, 0), true
}

// interpolate expands %(name)s, %(known/name)s, %(default/name)s,
// %(section/name)s and %(__name__)s as fail2ban's parser does.
func (c *f2bConfig) interpolate(section, s string, depth int) string {
	if depth > 10 || !strings.Contains(s, "%(") {
		return strings.ReplaceAll(s, "%%", "%")
	}
	return interpRE.ReplaceAllStringFunc(s, func(m string) string {
		ref := strings.ToLower(m[2 : len(m)-2])
		if ref == "__name__" {
			return section
		}
		sec, key, scoped := strings.Cut(ref, "/")
		var v iniValue
		var ok bool
		switch {
		case !scoped:
			key = ref
			v, _, ok = c.raw(section, key)
		case sec == "known":
			v, ok = c.known[section][key]
			if !ok {
				v, ok = c.sections["DEFAULT"][key]
			}
		case sec == "default":
			v, ok = c.sections["DEFAULT"][key]
		default:
			for name, m := range c.sections {
				if strings.EqualFold(name, sec) {
					v, ok = m[key]
				}
			}
		}
		if !ok {
			return m
		}
		return c.interpolate(section, v.value, depth+1)
	})
}

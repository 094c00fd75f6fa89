package fix

import (
	"strings"
	"testing"
)

func TestSetHostOption(t *testing.T) {
	cases := []struct {
		name, in, alias, kw, val, want, conflict string
	}{
		{
			name: "empty file", in: "", alias: "web1", kw: "Port", val: "2222",
			want: "Host web1\n    Port 2222\n",
		},
		{
			name:  "new block goes before Host *",
			in:    "# my config\nHost db\n  User admin\n\nHost *\n  ServerAliveInterval 30\n  Port 22\n",
			alias: "web1", kw: "Port", val: "2222",
			want: "# my config\nHost db\n  User admin\n\nHost web1\n    Port 2222\n\nHost *\n  ServerAliveInterval 30\n  Port 22\n",
		},
		{
			name:  "existing block: line replaced in place, indentation kept",
			in:    "Host web1 web1.example.com\n\tHostName 10.0.0.5\n\tPort 22 # old\nHost *\n\tUser me\n",
			alias: "web1", kw: "Port", val: "2222",
			want: "Host web1 web1.example.com\n\tHostName 10.0.0.5\n\tPort 2222\nHost *\n\tUser me\n",
		},
		{
			name:  "existing block: line added after Host",
			in:    "Host web1\n  HostName 10.0.0.5\n",
			alias: "web1", kw: "IdentitiesOnly", val: "yes",
			want: "Host web1\n  IdentitiesOnly yes\n  HostName 10.0.0.5\n",
		},
		{
			name:  "a wildcard block that matches comes first",
			in:    "Host web*\n  User deploy\nHost other\n  Port 1\n",
			alias: "web1", kw: "Port", val: "2222",
			want: "Host web1\n    Port 2222\n\nHost web*\n  User deploy\nHost other\n  Port 1\n",
		},
		{
			name:  "Include and Match count as catch-alls",
			in:    "Include ~/.ssh/config.d/*\nMatch all\n  Port 2\n",
			alias: "web1", kw: "Port", val: "2222",
			want: "Host web1\n    Port 2222\n\nInclude ~/.ssh/config.d/*\nMatch all\n  Port 2\n",
		},
		{
			name:  "a global setting before any Host wins: refuse",
			in:    "Port 2200\nHost web1\n  User x\n",
			alias: "web1", kw: "Port", val: "2222",
			want: "Port 2200\nHost web1\n  User x\n", conflict: "line 1",
		},
		{
			name:  "Key=Value form and case are understood",
			in:    "host WEB1\nHost web1\n  port=22\n",
			alias: "web1", kw: "Port", val: "2222",
			want: "host WEB1\nHost web1\n  Port 2222\n",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, conflict := SetHostOption(c.in, c.alias, c.kw, c.val)
			if got != c.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, c.want)
			}
			if (conflict != "") != (c.conflict != "") || !strings.Contains(conflict, c.conflict) {
				t.Errorf("conflict = %q, want %q", conflict, c.conflict)
			}
			if c.conflict == "" && HostOption(got, c.alias, c.kw) != c.val {
				t.Errorf("HostOption after the edit = %q", HostOption(got, c.alias, c.kw))
			}
		})
	}
}

func TestDiff(t *testing.T) {
	before := "a\nb\nc\nd\ne\nf\ng\n"
	after := "a\nb\nc\nX\ne\nf\ng\nh\n"
	d := Diff("f", before, after)
	for _, want := range []string{"--- f", "-d", "+X", "+h", " c"} {
		if !strings.Contains(d, want+"\n") {
			t.Errorf("diff lacks %q:\n%s", want, d)
		}
	}
	if strings.Contains(d, " a\n") {
		t.Errorf("diff shows too much context:\n%s", d)
	}
}

package sshdconfig

import (
	"reflect"
	"testing"
)

func TestSplitKeyword(t *testing.T) {
	tests := []struct {
		line, keyword, rest string
		hasArgs, ok         bool
	}{
		{"Port 22", "Port", "22", true, true},
		{"Port=22", "Port", "22", true, true},
		{"Port = 22", "Port", "22", true, true},
		{"Port\t=\t22 # c", "Port", "22 # c", true, true},
		{`"PermitRootLogin" no`, "PermitRootLogin", "no", true, true},
		{"Port", "Port", "", false, true},
		{"Port   ", "Port", "", false, true},
		{"# Port 22", "", "", false, false},
		{"#Port 22", "", "", false, false},
		{"", "", "", false, false},
		{`"PermitRootLogin no`, "", "", false, false}, // unterminated: sshd ignores the line
		{"=Port 22", "Port", "22", true, true},
	}
	for _, tt := range tests {
		kw, rest, has, ok := splitKeyword(cleanLine(tt.line))
		if kw != tt.keyword || rest != tt.rest || has != tt.hasArgs || ok != tt.ok {
			t.Errorf("splitKeyword(%q) = %q, %q, %v, %v; want %q, %q, %v, %v",
				tt.line, kw, rest, has, ok, tt.keyword, tt.rest, tt.hasArgs, tt.ok)
		}
	}
}

func TestSplitArgs(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		ok   bool
	}{
		{"a b\tc", []string{"a", "b", "c"}, true},
		{`"a b" c`, []string{"a b", "c"}, true},
		{`'a b' "c d"`, []string{"a b", "c d"}, true},
		{`a"b c"d`, []string{"ab cd"}, true},
		{`a\ b`, []string{"a b"}, true},
		{`"a\"b"`, []string{`a"b`}, true},
		{`a\nb`, []string{`a\nb`}, true},
		{"a # comment", []string{"a"}, true},
		{"a#b", []string{"a#b"}, true},
		{"# all comment", nil, true},
		{`"open`, nil, false},
		{`a 'b`, nil, false},
		{`""`, []string{""}, true},
	}
	for _, tt := range tests {
		got, ok := splitArgs(tt.in)
		if ok != tt.ok || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitArgs(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

package service

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func FuzzParseUnitFile(f *testing.F) {
	f.Add([]byte(readFixture("units/ssh.socket")))
	f.Add([]byte(readFixture("units/ssh.service")))
	f.Add([]byte("[Socket]\nListenStream=\\\n  22\n# c\nListenStream=\n[Install]\nWantedBy=x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var u UnitFile
		ParseUnitFile(&u, data)
		for sec, props := range u.Sections {
			for _, p := range props {
				if p.Key == "" || strings.ContainsAny(p.Key, "\n") {
					t.Fatalf("[%s] bad key %q", sec, p.Key)
				}
			}
			for _, v := range u.Values(sec, "ListenStream") {
				if v == "" {
					t.Fatal("an empty assignment survived as a value")
				}
				if l := ParseListen(v); l.Port < 0 || l.Port > 65535 {
					t.Fatalf("port %d from %q", l.Port, v)
				}
			}
		}
	})
}

func FuzzParseSmallFiles(f *testing.F) {
	f.Add([]byte(readFixture("dpkg-status")))
	f.Add([]byte("4242 (sshd) S 1 4242 4242 0 -1"))
	f.Add([]byte("ID=debian\nID_LIKE=\"a b\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if st, p := DpkgPackage(data, "openssh-server"); st == "" && p != "" {
			t.Fatalf("package %q without a status", p)
		}
		if comm, ppid, ok := ParseProcStat(data); ok && (ppid < 0 && !strings.Contains(string(data), "-") || strings.Contains(comm, "\x00\x00\x00")) {
			t.Fatalf("stat %q gave %q %d", data, comm, ppid)
		}
		_ = ParseOSRelease(data)
		if v := BinaryVersion(data); v != "" && !strings.HasPrefix(v, "OpenSSH_") {
			t.Fatalf("version %q", v)
		}
	})
}

func readFixture(name string) string {
	b, _ := os.ReadFile(filepath.Join("testdata", name))
	return string(b)
}

package check_test

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/sshdoctor/sshdoctor/check"
	"github.com/sshdoctor/sshdoctor/probe"
)

func fileKey(t *testing.T, name string) probe.ClientKey {
	t.Helper()
	k := newKey(t)
	return probe.ClientKey{Source: "file", Path: "/home/bob/.ssh/" + name, PubFrom: "/home/bob/.ssh/" + name + ".pub",
		Type: k.Type(), Fingerprint: ssh.FingerprintSHA256(k), Key: k, Mode: 0o600}
}

func agentKey(t *testing.T, comment string) probe.ClientKey {
	t.Helper()
	k := newKey(t)
	return probe.ClientKey{Source: "agent", PubFrom: "agent", Type: k.Type(), Fingerprint: ssh.FingerprintSHA256(k), Key: k, Comment: comment, InAgent: true}
}

// authFacts: the transport and host key worked; the server offers methods.
func authFacts(methods []string, keys []probe.ClientKey, results ...probe.KeyResult) *probe.Facts {
	f := bannerFacts(sshBanner())
	f.SSH = &probe.SSHFacts{Kex: probe.KexFacts{Done: true, GotReply: true},
		Auth: probe.AuthFacts{Reached: true, Methods: methods, Keys: results, Connections: 1}}
	f.Keys = &probe.KeySet{Keys: keys}
	return f
}

func res(k probe.ClientKey, result string, conn, pos int) probe.KeyResult {
	return probe.KeyResult{Key: k, Result: result, Conn: conn, Position: pos}
}

func TestAuthAccepted(t *testing.T) {
	a, b := fileKey(t, "id_rsa"), fileKey(t, "id_ed25519")
	f := authFacts([]string{"publickey"}, []probe.ClientKey{a, b}, res(a, "refused", 1, 1), res(b, "accepted", 1, 2))
	if fs := check.Auth(f); len(fs) != 0 {
		t.Errorf("findings [%s] when the second key is accepted", codes(fs))
	}
	f = authFacts(nil, nil)
	f.SSH.Auth.NoneAccepted = true
	if fs := check.Auth(f); len(fs) != 0 {
		t.Errorf("findings [%s] when no authentication is needed", codes(fs))
	}
	f.SSH.Auth.Reached = false
	if fs := check.Auth(f); len(fs) != 0 {
		t.Errorf("findings [%s] before authentication", codes(fs))
	}
}

func TestAuthKeyNotAccepted(t *testing.T) {
	a, b := fileKey(t, "id_rsa"), agentKey(t, "bob@laptop")
	f := authFacts([]string{"publickey", "password"}, []probe.ClientKey{b, a}, res(b, "refused", 1, 1), res(a, "refused", 1, 2))
	f.Target.BatchMode = true
	fd := only(t, check.Auth(f), "auth.key-not-accepted", check.SeverityError)
	wantEvidence(t, fd, map[string]string{
		"user":           "bob",
		"keys_refused":   b.String() + "|" + a.String(),
		"server_methods": "publickey|password",
	})
	if !strings.Contains(fd.Detail, "all 2 keys") || !strings.Contains(fd.Detail, "bob") {
		t.Errorf("detail %q", fd.Detail)
	}
	if !fixHas(fd, "ssh-copy-id -i /home/bob/.ssh/id_rsa.pub bob@web1") {
		t.Errorf("fix %q does not install the key", fd.Fix.Commands)
	}
	if !fixHas(fd, "sshdoctor server --user bob") {
		t.Errorf("fix %q does not point at the server side", fd.Fix.Commands)
	}
}

func TestAuthKeyNotAcceptedPasswordFallback(t *testing.T) {
	a := fileKey(t, "id_ed25519")
	f := authFacts([]string{"publickey", "password"}, []probe.ClientKey{a}, res(a, "refused", 1, 1))
	fd := only(t, check.Auth(f), "auth.key-not-accepted", check.SeverityError)
	if !strings.Contains(fd.Detail, "the only key") || !strings.Contains(fd.Detail, "password") {
		t.Errorf("detail %q", fd.Detail)
	}
}

// A key the server's disconnect kept from being asked about is "not
// reached", not refused; the detail must not count refusals that are not
// there.
func TestAuthKeyNotReached(t *testing.T) {
	a := fileKey(t, "id_ed25519")
	f := authFacts([]string{"publickey"}, []probe.ClientKey{a}, res(a, "untried", 0, 0))
	f.SSH.Auth.Disconnects = []string{"ssh: disconnect, reason 2: Too many authentication failures"}
	fs := check.Auth(f)
	if len(fs) != 1 || fs[0].Severity != check.SeverityError {
		t.Fatalf("findings [%s], want one error", codes(fs))
	}
	fd := fs[0]
	wantEvidence(t, fd, map[string]string{"keys_not_reached": a.String(), "disconnect": "ssh: disconnect, reason 2: Too many authentication failures"})
	if strings.Contains(fd.Detail, "all 0 keys") {
		t.Errorf("detail %q speaks of refusing zero keys", fd.Detail)
	}
}

func TestAuthTooManyKeys(t *testing.T) {
	var keys []probe.ClientKey
	var results []probe.KeyResult
	for i := range 7 {
		k := agentKey(t, fmt.Sprintf("key%d", i))
		keys = append(keys, k)
		switch {
		case i < 5:
			results = append(results, res(k, "refused", 1, i+1))
		case i == 5:
			results = append(results, res(k, "refused", 2, 1))
		}
	}
	good := fileKey(t, "id_work")
	keys = append(keys, good)
	results = append(results, res(keys[6], "refused", 2, 2), res(good, "accepted", 2, 3))
	f := authFacts([]string{"publickey"}, keys, results...)
	f.SSH.Auth.RefusedBeforeDisconnect = 6 // the disconnect answers the 6th refused key
	f.SSH.Auth.Connections = 2
	f.SSH.Auth.Disconnects = []string{"ssh: disconnect, reason 2: Too many authentication failures"}

	fd := only(t, check.Auth(f), "auth.too-many-keys", check.SeverityError)
	wantEvidence(t, fd, map[string]string{
		"accepted_key":              good.String(),
		"position":                  "8",
		"keys_offered":              "8",
		"refused_before_disconnect": "6",
		"max_auth_tries_inferred":   "6",
	})
	if !strings.Contains(fd.Detail, "MaxAuthTries 6") || !strings.Contains(fd.Detail, "key 8 of 8") {
		t.Errorf("detail %q", fd.Detail)
	}
	if !fixHas(fd, "ssh -o IdentitiesOnly=yes -i /home/bob/.ssh/id_work bob@web1") || !fixHas(fd, "IdentityFile /home/bob/.ssh/id_work") {
		t.Errorf("fix %q does not offer only the right key", fd.Fix.Commands)
	}
}

func TestAuthTooManyKeysAgentOnly(t *testing.T) {
	bad, good := agentKey(t, "old"), agentKey(t, "work")
	f := authFacts([]string{"publickey"}, []probe.ClientKey{bad, good}, res(bad, "refused", 1, 1), res(good, "accepted", 2, 1))
	fd := only(t, check.Auth(f), "auth.too-many-keys", check.SeverityError)
	blob := strings.Fields(string(ssh.MarshalAuthorizedKey(good.Key)))[1]
	if !fixHas(fd, "ssh-add -L | grep -F '"+blob+"' > ~/.ssh/web1_agent_key.pub") {
		t.Errorf("fix %q does not extract the agent key to a file", fd.Fix.Commands)
	}
}

func TestAuthNoKeys(t *testing.T) {
	f := authFacts([]string{"publickey"}, nil)
	f.Keys.AgentErr = "probe: cannot reach the agent: connection refused"
	fd := only(t, check.Auth(f), "auth.no-keys", check.SeverityError)
	wantEvidence(t, fd, map[string]string{
		"server_methods": "publickey",
		"identity_files": "/home/bob/.ssh/id_rsa|/home/bob/.ssh/id_ecdsa|/home/bob/.ssh/id_ed25519",
		"agent":          "probe: cannot reach the agent: connection refused",
	})
	if !fixHas(fd, "ssh-keygen -t ed25519") || !fixHas(fd, "ssh-copy-id") {
		t.Errorf("fix %q", fd.Fix.Commands)
	}

	// The server also takes a password and the client would ask for one.
	f = authFacts([]string{"publickey", "password"}, nil)
	fd = only(t, check.Auth(f), "auth.no-keys", check.SeverityWarning)
	if !strings.Contains(fd.Detail, "password") {
		t.Errorf("detail %q does not mention the password fallback", fd.Detail)
	}
}

func TestAuthNoKeysWhenKeySetMissing(t *testing.T) {
	f := authFacts([]string{"publickey"}, nil)
	f.Keys = nil // keys not loaded: the check must not crash
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("Auth panicked without a key set: %v", r)
		}
	}()
	_ = check.Auth(f)
}

func TestAuthSkippedTypes(t *testing.T) {
	a := fileKey(t, "id_dsa")
	f := authFacts([]string{"publickey"}, []probe.ClientKey{a}, res(a, "skipped", 0, 0))
	fd := only(t, check.Auth(f), "auth.no-keys", check.SeverityError)
	wantEvidence(t, fd, map[string]string{"skipped": a.String()})
}

func TestAuthSignatureAlgorithm(t *testing.T) {
	rsa := fileKey(t, "id_rsa")
	rsa.Type = ssh.KeyAlgoRSA
	f := authFacts([]string{"publickey"}, []probe.ClientKey{rsa}, res(rsa, "no-signature-algorithm", 1, 0))
	f.Banner.Ident = "SSH-2.0-OpenSSH_7.2"
	fd := only(t, check.Auth(f), "auth.signature-algorithm", check.SeverityError)
	wantEvidence(t, fd, map[string]string{"keys": rsa.String(), "client_algorithms": strings.Join(opensshLists.pubkey, "|")})
	// '^' puts ssh-rsa first: with '+', ssh would still try rsa-sha2-512.
	if !fixHas(fd, "ssh -o PubkeyAcceptedAlgorithms=^ssh-rsa bob@web1") || !strings.Contains(fd.Fix.Warning, "SHA-1") {
		t.Errorf("fix %+v", fd.Fix)
	}

	// Another key refused as well: both findings.
	ed := fileKey(t, "id_ed25519")
	f = authFacts([]string{"publickey"}, []probe.ClientKey{rsa, ed}, res(rsa, "no-signature-algorithm", 1, 0), res(ed, "refused", 1, 1))
	if got := codes(check.Auth(f)); got != "auth.signature-algorithm/error auth.key-not-accepted/error" {
		t.Errorf("findings [%s]", got)
	}
}

// The server refuses an RSA key under rsa-sha2-* but accepts it with
// ssh-rsa (SHA-1), which this client no longer makes.
func TestAuthSHA1OnlyServer(t *testing.T) {
	rsa := fileKey(t, "id_rsa")
	rsa.Type = ssh.KeyAlgoRSA
	f := authFacts([]string{"publickey"}, []probe.ClientKey{rsa}, res(rsa, "refused", 1, 1))
	f.SSH.Auth.SHA1Only = []probe.ClientKey{rsa}
	fd := only(t, check.Auth(f), "auth.signature-algorithm", check.SeverityError)
	wantEvidence(t, fd, map[string]string{"key": rsa.String(), "server_accepts": "ssh-rsa",
		"server_version": "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3"})
	if !fixHas(fd, "ssh -o PubkeyAcceptedAlgorithms=^ssh-rsa bob@web1") || !fixHas(fd, "Host web1\\n    PubkeyAcceptedAlgorithms ^ssh-rsa") {
		t.Errorf("fix %q", fd.Fix.Commands)
	}
	if !strings.Contains(fd.Detail, "rsa-sha2-512, rsa-sha2-256") {
		t.Errorf("detail %q does not say what the client allows", fd.Detail)
	}
}

func TestAuthMethodUnavailable(t *testing.T) {
	tests := []struct {
		name    string
		methods []string
		setup   func(f *probe.Facts)
		code    string
		sev     check.Severity
		ev      map[string]string
	}{
		{name: "password only, batch mode", methods: []string{"password"},
			setup: func(f *probe.Facts) { f.Target.BatchMode = true },
			code:  "auth.method-unavailable", sev: check.SeverityError,
			ev: map[string]string{"server_methods": "password", "client_methods": "publickey", "batch_mode": "true"}},
		{name: "password only, interactive", methods: []string{"password"}, setup: func(*probe.Facts) {}},
		{name: "keyboard-interactive, client refuses it", methods: []string{"keyboard-interactive"},
			setup: func(f *probe.Facts) { f.Target.KbdInteractiveAuthentication = false },
			code:  "auth.method-unavailable", sev: check.SeverityError,
			ev: map[string]string{"server_methods": "keyboard-interactive", "client_methods": "publickey|password"}},
		{name: "gssapi only", methods: []string{"gssapi-with-mic"}, setup: func(*probe.Facts) {},
			code: "auth.method-unavailable", sev: check.SeverityError},
		{name: "publickey only, client has it off", methods: []string{"publickey"},
			setup: func(f *probe.Facts) { f.Target.PubkeyAuthentication = false },
			code:  "auth.method-unavailable", sev: check.SeverityError,
			ev: map[string]string{"server_methods": "publickey"}},
		{name: "publickey off but password works", methods: []string{"publickey", "password"},
			setup: func(f *probe.Facts) { f.Target.PubkeyAuthentication = false }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := authFacts(tt.methods, nil)
			tt.setup(f)
			fs := check.Auth(f)
			if tt.code == "" {
				if len(fs) != 0 {
					t.Fatalf("findings [%s], want none: ssh will ask for a password", codes(fs))
				}
				return
			}
			fd := only(t, fs, tt.code, tt.sev)
			wantEvidence(t, fd, tt.ev)
		})
	}
}

func TestAuthKeyPermissions(t *testing.T) {
	good, other := fileKey(t, "id_ed25519"), fileKey(t, "id_rsa")
	good.BadPerms, good.Mode = true, 0o644
	other.BadPerms, other.Mode = true, 0o640

	// The accepted key is the one ssh will refuse to use: an error.
	f := authFacts([]string{"publickey"}, []probe.ClientKey{good}, res(good, "accepted", 1, 1))
	fd := only(t, check.Auth(f), "client.key-permissions", check.SeverityError)
	wantEvidence(t, fd, map[string]string{"file": "/home/bob/.ssh/id_ed25519", "mode": "0644"})
	if !fixHas(fd, "chmod 600 /home/bob/.ssh/id_ed25519") || !strings.Contains(fd.Detail, "UNPROTECTED PRIVATE KEY FILE") {
		t.Errorf("finding %+v", fd)
	}

	// Another key has bad permissions: only a warning.
	ok := fileKey(t, "id_ecdsa")
	f = authFacts([]string{"publickey"}, []probe.ClientKey{other, ok}, res(other, "refused", 1, 1), res(ok, "accepted", 1, 2))
	fd = only(t, check.Auth(f), "client.key-permissions", check.SeverityWarning)
	wantEvidence(t, fd, map[string]string{"mode": "0640"})

	// The agent holds it: ssh signs through the agent, the file mode does not matter.
	good.InAgent = true
	f = authFacts([]string{"publickey"}, []probe.ClientKey{good}, res(good, "accepted", 1, 1))
	if fs := check.Auth(f); len(fs) != 0 {
		t.Errorf("findings [%s] for a key the agent holds", codes(fs))
	}

	// A path that needs quoting is quoted in the fix.
	odd := fileKey(t, "my key's")
	odd.BadPerms, odd.Mode = true, 0o666
	f = authFacts([]string{"publickey"}, []probe.ClientKey{odd}, res(odd, "accepted", 1, 1))
	fd = only(t, check.Auth(f), "client.key-permissions", check.SeverityError)
	if !fixHas(fd, `chmod 600 '/home/bob/.ssh/my key'\''s'`) {
		t.Errorf("fix %q does not quote the path", fd.Fix.Commands)
	}
}

func TestLogin(t *testing.T) {
	f := authFacts([]string{"publickey"}, nil)
	if fs := check.Login(f); len(fs) != 0 {
		t.Errorf("findings [%s] without --login", codes(fs))
	}
	f.Login = &probe.LoginFacts{OK: true}
	if fs := check.Login(f); len(fs) != 0 {
		t.Errorf("findings [%s] for a working login", codes(fs))
	}
	f.Login = &probe.LoginFacts{Key: "ssh-ed25519 SHA256:x (/k)", Err: "running true: Process exited with status 1"}
	fd := only(t, check.Login(f), "auth.login-failed", check.SeverityError)
	wantEvidence(t, fd, map[string]string{"error": "running true: Process exited with status 1", "key": "ssh-ed25519 SHA256:x (/k)"})
}

package scenarios

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sshdoctor/sshdoctor/internal/lab"
	"github.com/sshdoctor/sshdoctor/report"
)

func TestScanFleet(t *testing.T) {
	p := lab.NewPair(t)
	key := lab.NewUserKey(t, "ed25519")
	p.Server.StartSSHD(t, lab.SSHDOptions{AuthorizedKeys: []string{key.AuthorizedLine}})
	p.Server.StartSSHD(t, lab.SSHDOptions{Port: 2022, HostKeyTypes: []string{"rsa"}, Extra: []string{"HostKeyAlgorithms ssh-rsa"}})
	srv := p.Server.Addr4.String()
	targets := []string{"root@" + srv, "root@" + srv + ":2022", "root@" + srv + ":23"}
	args := append([]string{"scan", "--json", "-F", "none", "--known-hosts", emptyFile(t), "-i", key.PrivPath, "--concurrency", "2"}, targets...)
	out, errOut, code := p.Client.RunTool(t, nil, args...)
	if code != 1 {
		t.Errorf("exit %d, want 1 (some destinations fail)\n%s", code, errOut)
	}
	verdicts := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var r report.Report
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line is not a JSON report: %v: %s", err, sc.Text())
		}
		v := "ok"
		if r.Verdict != nil {
			v = r.Verdict.Code
		}
		verdicts[r.Target.Input] = v
	}
	want := map[string]string{targets[0]: "ok", targets[1]: "ssh.kex-mismatch", targets[2]: "ssh.other-port"}
	for k, v := range want {
		if verdicts[k] != v {
			t.Errorf("%s: verdict %q, want %q (all: %v)", k, verdicts[k], v, verdicts)
		}
	}
}

func TestScanExporter(t *testing.T) {
	p := lab.NewPair(t)
	p.Server.StartSSHD(t, lab.SSHDOptions{})
	srv := p.Server.Addr4.String()
	proc := p.Client.Start(t, lab.Tool(t), "scan", "-F", "none", "--known-hosts", emptyFile(t), "--listen", "127.0.0.1:9922", "--interval", "1h", "root@"+srv, "root@"+srv+":23")
	var body string
	for range 100 {
		conn, err := p.Client.DialContext(context.Background(), "tcp", "127.0.0.1:9922")
		if err == nil {
			fmt.Fprintf(conn, "GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				body = string(b)
			}
			conn.Close()
			if strings.Contains(body, "sshdoctor_last_scan_timestamp_seconds ") && !strings.Contains(body, "sshdoctor_last_scan_timestamp_seconds 0") {
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, want := range []string{
		fmt.Sprintf(`sshdoctor_target_ok{target="root@%s:23"} 0`, srv),
		fmt.Sprintf(`sshdoctor_finding{code="tcp.refused",severity="error",target="root@%s:23"} 1`, srv),
		fmt.Sprintf(`sshdoctor_finding{code="ssh.other-port",severity="error",target="root@%s:23"} 1`, srv),
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s\n%s\n(exporter output: %s)", want, body, proc.Output())
		}
	}
}

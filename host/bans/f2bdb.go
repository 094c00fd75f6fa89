package bans

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/sshdoctor/sshdoctor/host"
)

// dbRow is one row of fail2ban's bips table (or of bans, on databases from
// before fail2ban 0.11).
type dbRow struct {
	Jail      string `json:"jail"`
	IP        string `json:"ip"`
	TimeOfBan int64  `json:"timeofban"`
	BanTime   int64  `json:"bantime"`
	BanCount  int    `json:"bancount"`
}

// The bips table holds the last ban of each address and jail, which is
// what fail2ban restores at start; older databases only have the bans
// history, whose latest row per address stands for it.
const (
	bipsQuery = `SELECT jail, ip, timeofban, bantime, bancount FROM bips`
	bansQuery = `SELECT jail, ip, MAX(timeofban) AS timeofban, bantime, bancount FROM bans GROUP BY jail, ip`
)

// readDatabase fills the jails' bans from fail2ban's sqlite database with
// the sqlite3 program (no sqlite library is in sshdoctor's module set). It
// keeps the bans fail2ban would restore when it starts: those of enabled
// jails that have not expired.
func (f *Fail2ban) readDatabase(ctx context.Context, sys host.System, sqlite host.Runner) {
	if f.DBFile == "" {
		f.BansUnknown = "fail2ban keeps no database (dbfile), so its bans live only in the server"
		return
	}
	if _, err := sys.Lstat(f.DBFile); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			// No database yet: fail2ban never ran, so it never banned.
			f.BanSource = SourceDatabase
			return
		}
		f.BansUnknown = fmt.Sprintf("fail2ban's database %s: %v", f.DBFile, err)
		return
	}
	uri := "file:" + uriEscape(sys.Path(f.DBFile)) + "?mode=ro&immutable=1"
	rows, err := queryJSON(ctx, sqlite, uri, bipsQuery)
	if err != nil && strings.Contains(err.Error(), "no such table") {
		rows, err = queryJSON(ctx, sqlite, uri, bansQuery)
	}
	if err != nil {
		if errors.Is(err, host.ErrNotFound) {
			f.BansUnknown = "sqlite3 is not installed, so fail2ban's database " + f.DBFile + " could not be read (apt install sqlite3)"
		} else {
			f.BansUnknown = fmt.Sprintf("reading fail2ban's database %s: %v", f.DBFile, err)
		}
		return
	}
	f.BanSource = SourceDatabase
	now := sys.Clock()
	enabled := map[string]*Jail{}
	for _, j := range f.Jails {
		if j.Enabled {
			enabled[j.Name] = j
		}
	}
	for _, r := range rows {
		j := enabled[r.Jail]
		if j == nil {
			continue // fail2ban restores bans only into jails it starts
		}
		b := newBan(r.IP)
		b.At = time.Unix(r.TimeOfBan, 0)
		b.Count = r.BanCount
		if r.BanTime < 0 {
			b.Permanent = true
		} else {
			b.Until = b.At.Add(time.Duration(r.BanTime) * time.Second)
			if !b.Until.After(now) {
				continue
			}
		}
		j.Bans = append(j.Bans, b)
	}
}

// queryJSON runs sqlite3 in read-only JSON mode.
func queryJSON(ctx context.Context, sqlite host.Runner, uri, query string) ([]dbRow, error) {
	out, err := sqlite.Run(ctx, "sqlite3", "-readonly", "-json", uri, query)
	if err != nil {
		var ee *host.ExitError
		if errors.As(err, &ee) {
			return nil, fmt.Errorf("bans: sqlite3: %s", strings.TrimSpace(ee.Stderr))
		}
		return nil, err
	}
	var rows []dbRow
	if len(strings.TrimSpace(string(out))) == 0 {
		return nil, nil // sqlite3 prints nothing for no rows
	}
	if err := json.Unmarshal(out, &rows); err != nil {
		return nil, fmt.Errorf("bans: sqlite3 output: %w", err)
	}
	return rows, nil
}

// uriEscape escapes the characters that end or change a path in an SQLite
// URI filename.
func uriEscape(p string) string {
	r := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")
	return r.Replace(p)
}

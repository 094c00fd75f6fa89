//go:build unix

package authkeys

import (
	"io/fs"
	"syscall"
)

// owner returns the numeric owner, group and mode bits (07777) of fi.
func owner(fi fs.FileInfo) (uid, gid int64, mode uint32, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, 0, false
	}
	return int64(st.Uid), int64(st.Gid), uint32(st.Mode) & 0o7777, true
}

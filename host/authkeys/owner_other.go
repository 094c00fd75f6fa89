//go:build !unix

package authkeys

import "io/fs"

// owner is not supported here: file ownership is a Unix notion, and sshd's
// StrictModes walk is only reproduced on Unix systems.
func owner(fi fs.FileInfo) (uid, gid int64, mode uint32, ok bool) {
	return 0, 0, uint32(fi.Mode().Perm()), false
}

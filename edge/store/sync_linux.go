package store

import (
	"os"

	"golang.org/x/sys/unix"
)

// datasync flushes f's data (and only the metadata needed to read it back) to
// the disk: on a journal segment whose blocks are already allocated that is
// the data alone.
func datasync(f *os.File) error { return unix.Fdatasync(int(f.Fd())) }

//go:build unix

package store

import (
	"io/fs"
	"syscall"
)

// diskUsage is the space a file's allocated blocks take (st_blocks is in
// 512-byte units on every unix), falling back to the apparent size.
func diskUsage(info fs.FileInfo) int64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return int64(st.Blocks) * 512
	}
	return info.Size()
}

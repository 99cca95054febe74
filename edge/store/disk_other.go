//go:build !unix

package store

import "io/fs"

// diskUsage is the file's apparent size where allocated blocks are not
// available; it over-counts Badger's sparse preallocated files.
func diskUsage(info fs.FileInfo) int64 { return info.Size() }

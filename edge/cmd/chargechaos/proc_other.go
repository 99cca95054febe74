//go:build !linux

package main

import "syscall"

// childAttr: without Pdeathsig, children are stopped by the harness's
// deferred cleanup only.
func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }

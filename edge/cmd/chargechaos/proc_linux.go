package main

import "syscall"

// childAttr puts a child in its own process group, so a Ctrl-C in the
// terminal reaches only the harness, which then stops the children in
// order; and makes the kernel kill the child if the harness dies, even by
// SIGKILL, so no edge or cloud outlives a run.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is one child process the harness starts, stops and kills, possibly
// many times (the edge restarts on the same store). Its stdout and stderr
// are appended to logPath across restarts, each start marked.
type proc struct {
	name    string
	path    string
	args    []string
	env     []string // added to the harness's environment
	logPath string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when the current run has been waited for
	err  error         // the current run's wait error
	runs int
}

// start runs the process; it must not be running.
func (p *proc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && !closed(p.done) {
		return fmt.Errorf("%s: already running", p.name)
	}
	logf, err := os.OpenFile(p.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("%s log: %w", p.name, err)
	}
	p.runs++
	fmt.Fprintf(logf, "=== chargechaos: start %s #%d at %s: %s %s\n", p.name, p.runs, time.Now().Format(time.RFC3339Nano), p.path, strings.Join(p.args, " "))
	cmd := exec.Command(p.path, p.args...) //nolint:gosec // binaries the harness built
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	done := make(chan struct{})
	p.cmd, p.done, p.err = cmd, done, nil
	go func() {
		err := cmd.Wait()
		_ = logf.Close()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(done)
	}()
	return nil
}

func closed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// running reports whether the process is alive.
func (p *proc) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil && !closed(p.done)
}

// exited is closed when the current run ends (nil channel: never started).
func (p *proc) exited() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}

// exitErr is the current run's wait error once it ended.
func (p *proc) exitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// signal sends sig to a running process; false if it is not running.
func (p *proc) signal(sig os.Signal) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || closed(p.done) {
		return false
	}
	return p.cmd.Process.Signal(sig) == nil
}

// stop asks the process to end (SIGTERM) and kills it if it has not within
// grace. It returns the exit error of a process that failed on its own, nil
// when it ended because of the signal or was not running.
func (p *proc) stop(grace time.Duration) error {
	done := p.exited()
	if done == nil || !p.signal(syscall.SIGTERM) {
		return nil
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-t.C:
		p.kill()
		return fmt.Errorf("%s did not stop within %s of SIGTERM; killed", p.name, grace)
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	done := p.exited()
	if done == nil {
		return
	}
	p.signal(syscall.SIGKILL)
	<-done
}

// wait waits for the current run to end by itself, at most timeout.
func (p *proc) wait(ctx context.Context, timeout time.Duration) error {
	done := p.exited()
	if done == nil {
		return fmt.Errorf("%s: never started", p.name)
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-done:
		return p.exitErr()
	case <-t.C:
		return fmt.Errorf("%s still running after %s", p.name, timeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// tail returns the last n lines of a file ("" if it cannot be read).
func tail(path string, n int) string {
	f, err := os.Open(path) //nolint:gosec // the harness's own log files
	if err != nil {
		return ""
	}
	defer func() { _ = f.Close() }()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// procs tracks every child so that all are stopped however the run ends.
type procs struct {
	mu   sync.Mutex
	list []*proc
}

func (ps *procs) add(p *proc) *proc {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.list = append(ps.list, p)
	return p
}

// stopAll stops the children in reverse order of creation.
func (ps *procs) stopAll(grace time.Duration) {
	ps.mu.Lock()
	list := append([]*proc(nil), ps.list...)
	ps.mu.Unlock()
	for i := len(list) - 1; i >= 0; i-- {
		_ = list[i].stop(grace)
	}
}

// runCommand runs a short command to completion and returns its stdout;
// a failure includes its stderr.
func runCommand(ctx context.Context, timeout time.Duration, dir string, env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = childAttr()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = strings.TrimSpace(stdout.String())
		}
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("timed out after %s: %w", timeout, err)
		}
		return stdout.String(), fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, msg)
	}
	return stdout.String(), nil
}

// countLines counts complete lines of a file (0 if it does not exist yet).
func countLines(path string) int {
	f, err := os.Open(path) //nolint:gosec // the harness's own files
	if err != nil {
		return 0
	}
	defer func() { _ = f.Close() }()
	n := 0
	buf := make([]byte, 32<<10)
	for {
		k, err := f.Read(buf)
		n += bytes.Count(buf[:k], []byte{'\n'})
		if err != nil { // io.EOF, or a read error: what was counted so far
			return n
		}
	}
}

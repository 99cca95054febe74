package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// shProc is a shell loop that prints "up" and runs until signalled; with
// ignoreTerm it survives SIGTERM.
func shProc(t *testing.T, ignoreTerm bool) *proc {
	t.Helper()
	script := `trap 'echo term; exit 0' TERM; echo up; while :; do sleep 0.02; done`
	if ignoreTerm {
		script = `trap '' TERM; echo up; while :; do sleep 0.02; done`
	}
	return &proc{name: "sh", path: "/bin/sh", args: []string{"-c", script}, logPath: filepath.Join(t.TempDir(), "sh.log")}
}

// logLines counts the log's lines that are exactly text (the start
// markers quote the script, so substrings would count those too).
func logLines(p *proc, text string) int {
	b, _ := os.ReadFile(p.logPath)
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		if l == text {
			n++
		}
	}
	return n
}

func waitLog(t *testing.T, p *proc, text string, n int) {
	t.Helper()
	err := waitUntil(context.Background(), 10*time.Second, fmt.Sprintf("%d × %q in the log", n, text), func(context.Context) (bool, string, error) {
		return logLines(p, text) >= n, "", nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestProcStopRestartKill(t *testing.T) {
	p := shProc(t, false)
	if err := p.start(); err != nil {
		t.Fatal(err)
	}
	if err := p.start(); err == nil {
		t.Fatal("second start of a running process succeeded")
	}
	waitLog(t, p, "up", 1)
	if err := p.stop(5 * time.Second); err != nil || p.running() {
		t.Fatalf("stop: %v, running %v", err, p.running())
	}
	waitLog(t, p, "term", 1) // it ended by SIGTERM, cleanly

	// Restart: same log, appended, each start marked.
	if err := p.start(); err != nil {
		t.Fatal(err)
	}
	waitLog(t, p, "up", 2)
	p.kill()
	if p.running() {
		t.Fatal("running after kill")
	}
	b, _ := os.ReadFile(p.logPath)
	if strings.Count(string(b), "=== chargechaos: start sh") != 2 || logLines(p, "term") != 1 {
		t.Fatalf("log after two runs (the second killed, not terminated):\n%s", b)
	}
}

func TestProcStopKillsWhatIgnoresTerm(t *testing.T) {
	p := shProc(t, true)
	if err := p.start(); err != nil {
		t.Fatal(err)
	}
	waitLog(t, p, "up", 1)
	if err := p.stop(200 * time.Millisecond); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("stop of a process ignoring SIGTERM: %v, want an error saying it was killed", err)
	}
	if p.running() {
		t.Fatal("still running")
	}
}

func TestProcsStopAll(t *testing.T) {
	var ps procs
	a, b := ps.add(shProc(t, false)), ps.add(shProc(t, true))
	for _, p := range []*proc{a, b} {
		if err := p.start(); err != nil {
			t.Fatal(err)
		}
		waitLog(t, p, "up", 1)
	}
	ps.stopAll(200 * time.Millisecond)
	if a.running() || b.running() {
		t.Fatalf("running after stopAll: %v %v", a.running(), b.running())
	}
}

func TestWaitUntil(t *testing.T) {
	n := 0
	err := waitUntil(context.Background(), 300*time.Millisecond, "never", func(context.Context) (bool, string, error) {
		n++
		return false, fmt.Sprintf("poll %d", n), nil
	})
	if err == nil || !strings.Contains(err.Error(), "never") || !strings.Contains(err.Error(), "poll ") || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("timeout error %v: want it to name the wait, the last state and the deadline", err)
	}
	boom := errors.New("boom")
	err = waitUntil(context.Background(), time.Second, "fails", func(context.Context) (bool, string, error) { return false, "", boom })
	if !errors.Is(err, boom) {
		t.Fatalf("cond error %v, want it returned", err)
	}
}

func TestCountLinesAndTail(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if countLines(p) != 0 || tail(p, 3) != "" {
		t.Fatal("missing file: want 0 lines and no tail")
	}
	var sb strings.Builder
	for i := range 50 {
		fmt.Fprintf(&sb, "line %d\n", i)
	}
	sb.WriteString("torn")
	if err := os.WriteFile(p, []byte(sb.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if n := countLines(p); n != 50 {
		t.Fatalf("countLines %d, want 50 (a torn last line is not one)", n)
	}
	if got := tail(p, 3); got != "line 48\nline 49\ntorn" {
		t.Fatalf("tail %q", got)
	}
}

const testAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// TestDropDatabaseWithConnections: the run's database is dropped even while
// a client (a cloud that did not stop) still holds it.
func TestDropDatabaseWithConnections(t *testing.T) {
	if err := checkService("PostgreSQL", testAdminURL, "see docs/development.md"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	name := fmt.Sprintf("chaos_test_%d", time.Now().UnixNano())
	admin, err := pgx.Connect(ctx, testAdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = admin.Close(ctx) }()
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	u, err := databaseURL(testAdminURL, name)
	if err != nil || !strings.Contains(u, "/"+name+"?sslmode=disable") {
		t.Fatalf("databaseURL = %q, %v", u, err)
	}
	holder, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = holder.Close(ctx) }()
	if err := dropDatabase(ctx, testAdminURL, name); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := admin.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil || n != 0 {
		t.Fatalf("database still listed: %d, %v", n, err)
	}
}

func TestDeleteRedisKeys(t *testing.T) {
	const url = "redis://127.0.0.1:6379/0"
	if err := checkService("Redis", url, "redis-server --daemonize yes"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	opts, _ := redis.ParseURL(url)
	rdb := redis.NewClient(opts)
	defer func() { _ = rdb.Close() }()
	prefix := fmt.Sprintf("chaos-test-%d:", time.Now().UnixNano())
	other := prefix[:len(prefix)-1] + "-other"
	t.Cleanup(func() { rdb.Del(context.Background(), other) })
	for i := range 1200 {
		if err := rdb.Set(ctx, fmt.Sprintf("%sk%d", prefix, i), "v", time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := rdb.Set(ctx, other, "v", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if err := deleteRedisKeys(ctx, url, prefix); err != nil {
		t.Fatal(err)
	}
	keys, err := rdb.Keys(ctx, prefix+"*").Result()
	if err != nil || len(keys) != 0 {
		t.Fatalf("left %d keys (%v)", len(keys), err)
	}
	if rdb.Exists(ctx, other).Val() != 1 {
		t.Fatal("a key outside the prefix was deleted")
	}
}

func TestCheckServiceNamesTheService(t *testing.T) {
	addr, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	err = checkService("Redis", "redis://"+addr+"/0", "redis-server --daemonize yes")
	if err == nil || !strings.Contains(err.Error(), "Redis is not answering at "+addr) || !strings.Contains(err.Error(), "redis-server") {
		t.Fatalf("err %v: want the service, its address and how to start it", err)
	}
}

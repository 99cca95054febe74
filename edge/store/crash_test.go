package store

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// The crash helper is this test binary re-executed with crashHelperDirEnv
// set: it appends to the store in that directory until it is killed,
// printing "<seq> <charger id>" for every event whose Append returned.
const (
	crashHelperDirEnv   = "CHARGEPLANE_STORE_CRASH_HELPER_DIR"
	crashHelperRoundEnv = "CHARGEPLANE_STORE_CRASH_HELPER_ROUND"
	crashHelperWriters  = 16
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashHelperDirEnv); dir != "" {
		os.Exit(crashHelper(dir, os.Getenv(crashHelperRoundEnv)))
	}
	os.Exit(m.Run())
}

// crashHelper runs concurrent writers, some appending several events per
// call, until the parent kills the process. Each acknowledged event is
// written to stdout with one unbuffered write, so the parent sees exactly
// what was acknowledged before the kill.
func crashHelper(dir, round string) int {
	s, err := Open(Config{Dir: dir, Durable: true, MaxBatch: 1000}, testEdgeID, nil, prometheus.NewRegistry())
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash helper: open:", err)
		return 2
	}
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for w := range crashHelperWriters {
		wg.Go(func() {
			for i := 0; ; {
				n := 1 + (i+w)%3
				evs := make([]*chargeplanev1.Event, n)
				for j := range evs {
					evs[j] = heartbeat(fmt.Sprintf("r%s-w%d-%d", round, w, i+j))
				}
				if err := s.Append(context.Background(), evs...); err != nil {
					fmt.Fprintln(os.Stderr, "crash helper: append:", err)
					os.Exit(2)
				}
				var line []byte
				for _, ev := range evs {
					line = fmt.Appendf(line, "%d %s\n", ev.GetSeq(), ev.GetChargerId())
				}
				mu.Lock()
				_, err := os.Stdout.Write(line)
				mu.Unlock()
				if err != nil {
					os.Exit(2)
				}
				i += n
			}
		})
	}
	wg.Wait()
	return 0
}

// TestCrashSafety kills a writing process with SIGKILL at a random point,
// three times on the same store, and checks after each kill that every
// acknowledged event is stored at the seq it was given, that no seq was
// given twice and that seqs continue above everything stored before.
func TestCrashSafety(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1))
	dir := t.TempDir()

	acked := map[uint64]string{} // every acknowledged seq, over all rounds
	var lastBefore uint64        // LastSeq when the previous round's child started
	for round := 1; round <= 3; round++ {
		killAfter := 50 + rng.IntN(3000) // acknowledged events before the kill
		reported, err := runCrashChild(t, dir, round, killAfter)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		t.Logf("round %d: killed after %d acknowledged events, %d reported in all", round, killAfter, len(reported))
		for seq, id := range reported {
			if prev, dup := acked[seq]; dup {
				t.Errorf("round %d: seq %d acknowledged for %s, already given to %s", round, seq, id, prev)
			}
			if seq <= lastBefore {
				t.Errorf("round %d: seq %d reused (last seq before the round was %d)", round, seq, lastBefore)
			}
			acked[seq] = id
		}

		s := MustOpen(t, dir)
		stored := map[uint64]string{}
		var prev uint64
		for _, ev := range MustPending(t, s, 0) {
			if ev.GetSeq() <= prev {
				t.Errorf("round %d: stored seq %d follows %d", round, ev.GetSeq(), prev)
			}
			prev = ev.GetSeq()
			stored[ev.GetSeq()] = ev.GetChargerId()
		}
		for seq, id := range acked {
			if got, ok := stored[seq]; !ok || got != id {
				t.Errorf("round %d: acknowledged seq %d (%s) stored as %q (present %v)", round, seq, id, got, ok)
			}
		}
		if s.LastSeq() < prev {
			t.Errorf("round %d: LastSeq %d below stored seq %d", round, s.LastSeq(), prev)
		}
		if s.PendingCount() != int64(len(stored)) {
			t.Errorf("round %d: PendingCount %d, stored %d", round, s.PendingCount(), len(stored))
		}
		lastBefore = s.LastSeq()
		if err := s.Close(); err != nil {
			t.Fatalf("round %d: Close: %v", round, err)
		}
		if t.Failed() {
			return
		}
	}
}

// runCrashChild starts the crash helper on dir, kills it with SIGKILL once it
// has acknowledged killAfter events, and returns everything it reported.
func runCrashChild(t *testing.T, dir string, round, killAfter int) (map[uint64]string, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashHelperDirEnv+"="+dir, crashHelperRoundEnv+"="+strconv.Itoa(round))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start helper: %w", err)
	}
	reported := map[uint64]string{}
	killed := false
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		seqText, id, ok := strings.Cut(sc.Text(), " ")
		seq, err := strconv.ParseUint(seqText, 10, 64)
		if !ok || err != nil {
			t.Errorf("helper printed %q", sc.Text())
			continue
		}
		if prev, dup := reported[seq]; dup {
			t.Errorf("helper acknowledged seq %d twice: %s and %s", seq, prev, id)
		}
		reported[seq] = id
		if !killed && len(reported) >= killAfter {
			if err := cmd.Process.Kill(); err != nil {
				return nil, fmt.Errorf("kill helper: %w", err)
			}
			killed = true
		}
	}
	// Read to EOF first: lines written before the kill are still in the pipe.
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read helper output: %w", err)
	}
	werr := cmd.Wait()
	if !killed {
		return nil, fmt.Errorf("helper exited before the kill (%d events): %w; stderr:\n%s", len(reported), werr, stderr.String())
	}
	return reported, nil
}

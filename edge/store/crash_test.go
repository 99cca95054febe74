package store

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// The crash helper is this test binary re-executed with crashHelperDirEnv
// set: it writes to the store in that directory until it is killed, printing
// one line for every call that returned (and for the syncer's calls, one
// before it too):
//
//	<seq> <id>                   an event stored (Write returned); a
//	<seq> <id> session           session's id is its charger id and ref
//	ackreq <n> / acked <n>       Ack(n) called / returned
//	markreq <seq:id>... / marked <seq:id>...   MarkSessionsSynced called / returned
//	compacted <n>                Compact returned, n removed
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

// crashHelper runs concurrent writers, some writing several events per call
// and every fourth call ending in a session written with a ctl/ key, and one
// syncer that acknowledges the outbox, marks sessions synced and compacts,
// as uplink and the store's own loop do, until the parent kills the process.
// Each line is written to stdout with one unbuffered write, so the parent
// sees exactly what returned before the kill.
func crashHelper(dir, round string) int {
	// Small journal segments, so that the kill also lands during segment
	// switches and background checkpoints.
	s, err := Open(testConfig(dir), testEdgeID, nil, prometheus.NewRegistry(), withSegmentSize(32<<10))
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash helper: open:", err)
		return 2
	}
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	say := func(line []byte) {
		mu.Lock()
		_, err := os.Stdout.Write(line)
		mu.Unlock()
		if err != nil {
			os.Exit(2)
		}
	}
	fail := func(what string, err error) {
		fmt.Fprintf(os.Stderr, "crash helper: %s: %v\n", what, err)
		os.Exit(2)
	}
	ctx := context.Background()
	for w := range crashHelperWriters {
		wg.Go(func() {
			for i, call := 0, 0; ; call++ {
				n := 1 + (i+w)%3
				evs := make([]*chargeplanev1.Event, n)
				for j := range evs {
					evs[j] = heartbeat(fmt.Sprintf("r%s-w%d-%d", round, w, i+j))
				}
				wr := Write{Events: evs}
				if call%4 == 0 {
					id := evs[n-1].GetChargerId()
					evs[n-1] = sessionEnded(id, 1, id)
					wr.Put = []KV{{Key: []byte("ctl/s/" + id), Value: []byte(id)}}
				}
				if _, err := s.Write(ctx, wr); err != nil {
					fail("write", err)
				}
				var line []byte
				for _, ev := range evs {
					line = fmt.Appendf(line, "%d %s", ev.GetSeq(), ev.GetChargerId())
					if ev.GetSessionEnded() != nil {
						line = append(line, " session"...)
					}
					line = append(line, '\n')
				}
				say(line)
				i += n
			}
		})
	}
	wg.Go(func() {
		for range s.Appended() {
			if last := s.LastSeq(); last > 200 {
				say(fmt.Appendf(nil, "ackreq %d\n", last-200))
				if err := s.Ack(ctx, last-200); err != nil {
					fail("ack", err)
				}
				say(fmt.Appendf(nil, "acked %d\n", last-200))
			}
			evs, err := s.PendingSessions(ctx, 20)
			if err != nil {
				fail("pending sessions", err)
			}
			if len(evs) == 0 {
				continue
			}
			var list []byte
			for _, ev := range evs {
				list = fmt.Appendf(list, " %d:%s", ev.GetSeq(), ev.GetChargerId())
			}
			say(fmt.Appendf(nil, "markreq%s\n", list))
			if err := s.MarkSessionsSynced(ctx, seqs(evs)); err != nil {
				fail("mark", err)
			}
			say(fmt.Appendf(nil, "marked%s\n", list))
			// Everything synced so far is before the cutoff.
			n, err := s.Compact(ctx, time.Now().Add(time.Hour))
			if err != nil {
				fail("compact", err)
			}
			say(fmt.Appendf(nil, "compacted %d\n", n))
		}
	})
	wg.Wait()
	return 0
}

// crashLog is what crash helpers printed, accumulated over rounds.
type crashLog struct {
	events   map[uint64]string // seq → charger id of every event whose Write returned
	sessions map[uint64]bool   // the sessions among them
	ackReq   uint64            // highest Ack called
	acked    uint64            // highest Ack returned
	markReq  map[string]bool   // ids of sessions MarkSessionsSynced was called for
	marked   map[uint64]bool   // seqs of sessions MarkSessionsSynced returned for
}

func newCrashLog() *crashLog {
	return &crashLog{
		events:   map[uint64]string{},
		sessions: map[uint64]bool{},
		markReq:  map[string]bool{},
		marked:   map[uint64]bool{},
	}
}

// TestCrashSafety kills a writing process with SIGKILL at a random point,
// three times on the same store, and checks after each kill that every
// acknowledged event is stored at the seq it was given (unless an Ack may
// have removed it), that no seq was given twice, that seqs continue above
// everything stored before, and that the outbox, the session ledger, the
// ref index and control state agree.
func TestCrashSafety(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1))
	dir := t.TempDir()

	all := newCrashLog()
	var lastBefore uint64 // LastSeq when the previous round's child started
	for round := 1; round <= 3; round++ {
		killAfter := 50 + rng.IntN(3000) // acknowledged events before the kill
		rep, err := runCrashChild(t, dir, round, killAfter)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		t.Logf("round %d: killed after %d acknowledged events, %d reported in all (%d sessions), ack %d, %d sessions marked",
			round, killAfter, len(rep.events), len(rep.sessions), rep.acked, len(rep.marked))
		for seq, id := range rep.events {
			if prev, dup := all.events[seq]; dup {
				t.Errorf("round %d: seq %d acknowledged for %s, already given to %s", round, seq, id, prev)
			}
			if seq <= lastBefore {
				t.Errorf("round %d: seq %d reused (last seq before the round was %d)", round, seq, lastBefore)
			}
		}
		maps.Copy(all.events, rep.events)
		maps.Copy(all.sessions, rep.sessions)
		maps.Copy(all.markReq, rep.markReq)
		maps.Copy(all.marked, rep.marked)
		all.ackReq = max(all.ackReq, rep.ackReq)
		all.acked = max(all.acked, rep.acked)

		s := MustOpen(t, dir)
		outbox := map[uint64]*chargeplanev1.Event{}
		var prev uint64
		for _, ev := range MustPending(t, s, 0) {
			if ev.GetSeq() <= prev {
				t.Errorf("round %d: stored seq %d follows %d", round, ev.GetSeq(), prev)
			}
			prev = ev.GetSeq()
			outbox[ev.GetSeq()] = ev
		}
		for seq, id := range all.events {
			ev, ok := outbox[seq]
			if !ok && seq <= all.ackReq {
				continue // an Ack may have removed it
			}
			if !ok || ev.GetChargerId() != id {
				t.Errorf("round %d: acknowledged seq %d (%s) stored as %q (present %v)", round, seq, id, ev.GetChargerId(), ok)
			}
		}
		for seq := range outbox {
			if seq <= all.acked {
				t.Errorf("round %d: seq %d still in the outbox after Ack(%d) returned", round, seq, all.acked)
			}
		}
		if s.LastSeq() < prev {
			t.Errorf("round %d: LastSeq %d below stored seq %d", round, s.LastSeq(), prev)
		}
		if s.PendingCount() != int64(len(outbox)) {
			t.Errorf("round %d: PendingCount %d, stored %d", round, s.PendingCount(), len(outbox))
		}
		checkLedgerAgrees(t, s, round, outbox, all)
		lastBefore = s.LastSeq()
		if err := s.Close(); err != nil {
			t.Fatalf("round %d: Close: %v", round, err)
		}
		if t.Failed() {
			return
		}
	}
	if len(all.sessions) == 0 || len(all.marked) == 0 || all.acked == 0 {
		t.Errorf("over all rounds: %d sessions, %d marked, acked to %d: the helper did not exercise the ledger",
			len(all.sessions), len(all.marked), all.acked)
	}
}

// checkLedgerAgrees checks the session ledger after a crash against the
// outbox and what the helpers were told:
//   - every pending ledger entry is the same event as its outbox entry, or
//     an Ack was asked to cover its seq; the pending count is recovered;
//   - no session is both pending and synced, and every session in the
//     outbox is one of them unless it was asked to be marked (compacted);
//   - every acknowledged session is pending or synced with its ref pointing
//     at it, or, only if it was asked to be marked, compacted together with
//     its ref; once MarkSessionsSynced returned it is no longer pending;
//   - each session's ctl/ key (written in the same Write) exists exactly when
//     the session was stored.
func checkLedgerAgrees(t *testing.T, s *Store, round int, outbox map[uint64]*chargeplanev1.Event, all *crashLog) {
	t.Helper()
	ctx := t.Context()
	pending := map[uint64]*chargeplanev1.Event{}
	for _, ev := range mustPendingSessions(t, s) {
		pending[ev.GetSeq()] = ev
		if ob, ok := outbox[ev.GetSeq()]; ok {
			if !proto.Equal(ob, ev) {
				t.Errorf("round %d: ledger %d differs from its outbox entry", round, ev.GetSeq())
			}
		} else if ev.GetSeq() > all.ackReq {
			t.Errorf("round %d: ledger %d has no outbox entry and no Ack covered it", round, ev.GetSeq())
		}
	}
	if s.PendingSessionCount() != int64(len(pending)) {
		t.Errorf("round %d: PendingSessionCount %d, ledger holds %d", round, s.PendingSessionCount(), len(pending))
	}
	synced := syncedSessions(t, s)
	stored := map[string]uint64{} // id → seq of every session in the ledger
	for seq, ev := range pending {
		stored[ev.GetChargerId()] = seq
	}
	for seq, ev := range synced {
		if pending[seq] != nil {
			t.Errorf("round %d: session %d both pending and synced", round, seq)
		}
		stored[ev.GetChargerId()] = seq
	}
	for seq, ev := range outbox {
		if ev.GetSessionEnded() != nil && pending[seq] == nil && synced[seq] == nil && !all.markReq[ev.GetChargerId()] {
			t.Errorf("round %d: outbox session %d neither pending nor synced, never marked", round, seq)
		}
	}

	for seq := range all.sessions {
		id := all.events[seq]
		ref, found, err := s.SessionByRef(ctx, id, 1, id)
		if err != nil {
			t.Fatalf("SessionByRef: %v", err)
		}
		switch {
		case pending[seq] != nil || synced[seq] != nil:
			if !found || ref != seq {
				t.Errorf("round %d: session %d (%s) stored, ref index says %d %v", round, seq, id, ref, found)
			}
			if all.marked[seq] && pending[seq] != nil {
				t.Errorf("round %d: session %d still pending after MarkSessionsSynced returned", round, seq)
			}
		case all.markReq[id]:
			if found {
				t.Errorf("round %d: session %d compacted but its ref is left", round, seq)
			}
		default:
			t.Errorf("round %d: acknowledged session %d (%s) neither pending nor synced, never marked", round, seq, id)
		}
	}

	ctl := mustScan(t, s, "ctl/s/")
	for k, id := range ctl {
		if k != "ctl/s/"+id {
			t.Errorf("round %d: %s holds %q", round, k, id)
		}
		if _, ok := stored[id]; !ok && !all.markReq[id] {
			t.Errorf("round %d: control state %s without its session", round, k)
		}
	}
	for id, seq := range stored {
		if _, ok := ctl["ctl/s/"+id]; !ok {
			t.Errorf("round %d: session %d (%s) stored without its control state", round, seq, id)
		}
	}
}

// syncedSessions reads the synced ledger: seq → event.
func syncedSessions(tb testing.TB, s *Store) map[uint64]*chargeplanev1.Event {
	tb.Helper()
	out := map[uint64]*chargeplanev1.Event{}
	err := s.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = []byte(syncedPrefix)
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			seq, _ := parseSeqKey(syncedPrefix, it.Item().Key())
			ev := &chargeplanev1.Event{}
			if err := it.Item().Value(func(v []byte) error { return proto.Unmarshal(v[syncedAtLen:], ev) }); err != nil {
				return fmt.Errorf("synced %d: %w", seq, err)
			}
			out[seq] = ev
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("read synced: %v", err)
	}
	return out
}

// runCrashChild starts the crash helper on dir, kills it with SIGKILL once it
// has acknowledged killAfter events, and returns everything it reported.
func runCrashChild(t *testing.T, dir string, round, killAfter int) (*crashLog, error) {
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
	rep := newCrashLog()
	killed := false
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if err := rep.parse(sc.Text()); err != nil {
			t.Error(err)
		}
		if !killed && len(rep.events) >= killAfter {
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
		return nil, fmt.Errorf("helper exited before the kill (%d events): %w; stderr:\n%s", len(rep.events), werr, stderr.String())
	}
	return rep, nil
}

// parse records one line of the helper's output.
func (l *crashLog) parse(line string) error {
	f := strings.Fields(line)
	if len(f) == 0 {
		return fmt.Errorf("helper printed an empty line")
	}
	num := func(s string) (uint64, error) {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("helper printed %q: %w", line, err)
		}
		return n, nil
	}
	switch f[0] {
	case "ackreq", "acked":
		if len(f) != 2 {
			return fmt.Errorf("helper printed %q", line)
		}
		n, err := num(f[1])
		if err != nil {
			return err
		}
		if f[0] == "ackreq" {
			l.ackReq = max(l.ackReq, n)
		} else {
			l.acked = max(l.acked, n)
		}
	case "markreq", "marked":
		for _, item := range f[1:] {
			seqText, id, ok := strings.Cut(item, ":")
			seq, err := num(seqText)
			if !ok || err != nil {
				return fmt.Errorf("helper printed %q", line)
			}
			if f[0] == "markreq" {
				l.markReq[id] = true
			} else {
				l.marked[seq] = true
			}
		}
	case "compacted":
	default:
		if len(f) < 2 || len(f) > 3 || len(f) == 3 && f[2] != "session" {
			return fmt.Errorf("helper printed %q", line)
		}
		seq, err := num(f[0])
		if err != nil {
			return err
		}
		if prev, dup := l.events[seq]; dup {
			return fmt.Errorf("helper acknowledged seq %d twice: %s and %s", seq, prev, f[1])
		}
		l.events[seq] = f[1]
		if len(f) == 3 {
			l.sessions[seq] = true
		}
	}
	return nil
}

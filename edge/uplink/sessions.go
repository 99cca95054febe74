package uplink

import (
	"context"
	"errors"
	"fmt"
	"time"

	"connectrpc.com/connect"

	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// sessionBatch is how many finished sessions go in one PushSessions call
// (the cloud accepts up to 1000).
const sessionBatch = 200

// errNoneConfirmed reports a PushSessions answer that confirmed none of the
// sessions sent: retrying at once would only send them again.
var errNoneConfirmed = errors.New("cloud confirmed none of the sessions")

// sessionLoop uploads the session ledger: a batch at a time, at once while
// full batches make progress, otherwise every session_poll. Failures back
// off from retry_min to retry_max. The ledger is durable, so after a restart
// the loop simply carries on with whatever is still pending.
func (u *Uplink) sessionLoop(ctx context.Context) {
	bo := newBackoff(u.cfg)
	poll := time.NewTicker(u.cfg.SessionPoll)
	defer poll.Stop()
	for {
		sent, err := u.pushSessions(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			d := bo.wait()
			u.log.Warn("session upload failed; will retry", "err", err, "backoff", d)
			if !sleep(ctx, d) {
				return
			}
			continue
		}
		bo.reset()
		if sent == sessionBatch {
			continue // more are likely waiting
		}
		select {
		case <-ctx.Done():
			return
		case <-poll.C:
		}
	}
}

// pushSessions sends one batch of pending sessions and marks synced exactly
// those the cloud reported stored or duplicate. It returns how many it sent.
func (u *Uplink) pushSessions(ctx context.Context) (int, error) {
	evs, err := u.sessions.PendingSessions(ctx, sessionBatch)
	if err != nil {
		return 0, fmt.Errorf("read pending sessions: %w", err)
	}
	if len(evs) == 0 {
		return 0, nil
	}
	sent := make(map[uint64]bool, len(evs))
	for _, ev := range evs {
		sent[ev.GetSeq()] = true
	}
	cctx, cancel := context.WithTimeout(ctx, u.cfg.CallTimeout)
	defer cancel()
	resp, err := u.sync.PushSessions(cctx, connect.NewRequest(&chargeplanev1.PushSessionsRequest{
		EdgeId: u.edgeID, Sessions: evs,
	}))
	u.callDone("PushSessions", err)
	if err != nil {
		return 0, fmt.Errorf("push %d sessions from seq %d: %w", len(evs), evs[0].GetSeq(), err)
	}
	u.setStatus(func(s *Status) { s.LastSessionPush = time.Now() })

	confirmed := make([]uint64, 0, len(evs))
	var foreign []uint64
	for _, list := range [][]uint64{resp.Msg.GetStoredSeqs(), resp.Msg.GetDuplicateSeqs()} {
		for _, seq := range list {
			switch {
			case sent[seq]:
				confirmed = append(confirmed, seq)
				delete(sent, seq) // a seq listed twice is marked once
			default:
				foreign = append(foreign, seq)
			}
		}
	}
	if len(foreign) > 0 {
		// Never mark what was not sent: it would drop a session the cloud
		// may not have.
		u.log.Warn("cloud confirmed sessions that were not sent; ignored", "seqs", foreign)
	}
	if len(confirmed) > 0 {
		// The cloud has them: record that even if ctx ends meanwhile.
		if err := u.sessions.MarkSessionsSynced(context.WithoutCancel(ctx), confirmed, resp.Msg.GetConfigVersion()); err != nil {
			return len(evs), fmt.Errorf("mark %d sessions synced: %w", len(confirmed), err)
		}
		u.m.sessionsSynced.Add(float64(len(confirmed)))
	}
	if len(sent) > 0 {
		left := make([]uint64, 0, len(sent))
		for _, ev := range evs {
			if sent[ev.GetSeq()] {
				left = append(left, ev.GetSeq())
			}
		}
		u.log.Warn("cloud neither stored nor reported sessions as duplicate; they stay pending and are retried",
			"seqs", left, "config_version", resp.Msg.GetConfigVersion())
		if len(confirmed) == 0 {
			return len(evs), fmt.Errorf("push %d sessions from seq %d: %w", len(evs), evs[0].GetSeq(), errNoneConfirmed)
		}
	}
	u.log.Debug("sessions synced", "stored", len(resp.Msg.GetStoredSeqs()), "duplicates", len(resp.Msg.GetDuplicateSeqs()),
		"config_version", resp.Msg.GetConfigVersion())
	return len(evs), nil
}

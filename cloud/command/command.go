package command

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// Command kinds the cloud sends (ChargerCommand.kind; edge/command names).
const (
	KindStart         = "start"
	KindStop          = "stop"
	KindSetParameters = "set_parameters"
	KindReboot        = "reboot"
	KindQueryStatus   = "query_status"
)

// Params the edge reads from a start or stop command (edge/control).
const (
	ParamCardID     = "card_id"
	ParamUserID     = "user_id"
	ParamSessionRef = "session_ref"
)

// State is where a command is in its life; the values are those of
// commands.state.
type State string

// The states. Queued and sent are open; the others are final.
const (
	StateQueued   State = "queued"
	StateSent     State = "sent"
	StateAccepted State = "accepted"
	StateRejected State = "rejected"
	StateTimedOut State = "timed_out"
	StateFailed   State = "failed"
)

// Final reports whether s is a final state.
func (s State) Final() bool { return s != StateQueued && s != StateSent && s != "" }

// Proto returns s as the API's enum.
func (s State) Proto() chargeplanev1.CommandState {
	switch s {
	case StateQueued:
		return chargeplanev1.CommandState_COMMAND_STATE_QUEUED
	case StateSent:
		return chargeplanev1.CommandState_COMMAND_STATE_SENT
	case StateAccepted:
		return chargeplanev1.CommandState_COMMAND_STATE_ACCEPTED
	case StateRejected:
		return chargeplanev1.CommandState_COMMAND_STATE_REJECTED
	case StateTimedOut:
		return chargeplanev1.CommandState_COMMAND_STATE_TIMED_OUT
	case StateFailed:
		return chargeplanev1.CommandState_COMMAND_STATE_FAILED
	}
	return chargeplanev1.CommandState_COMMAND_STATE_UNSPECIFIED
}

// StateOf is the inverse of State.Proto; "" for unspecified.
func StateOf(s chargeplanev1.CommandState) State {
	for _, st := range []State{StateQueued, StateSent, StateAccepted, StateRejected, StateTimedOut, StateFailed} {
		if st.Proto() == s {
			return st
		}
	}
	return ""
}

// resultState maps CommandResult.status to the final state it records. A
// status this cloud does not know counts as failed, with the status named
// in the detail.
func resultState(status string) (State, bool) {
	switch s := State(status); s {
	case StateAccepted, StateRejected, StateTimedOut, StateFailed:
		return s, true
	}
	return StateFailed, false
}

// Command is one command as stored.
type Command struct {
	ID        string
	TenantID  string
	EdgeID    string
	ChargerID string
	Connector uint32
	Kind      string
	Params    map[string]string
	// Limit bounds a start; nil: none.
	Limit  *chargeplanev1.Limit
	State  State
	Detail string
	// Values the charger returned.
	Values map[string]string
	// RequestedBy is access.Principal.Subject() of the caller.
	RequestedBy string
	RequestedAt time.Time
	// SentAt and FinishedAt are zero until they happen.
	SentAt     time.Time
	FinishedAt time.Time
	ExpiresAt  time.Time
	Deadline   time.Time
}

// Proto returns c as the API shows it.
func (c Command) Proto() *chargeplanev1.Command {
	ts := func(t time.Time) *timestamppb.Timestamp {
		if t.IsZero() {
			return nil
		}
		return timestamppb.New(t)
	}
	return &chargeplanev1.Command{
		CommandId: c.ID, TenantId: c.TenantID, EdgeId: c.EdgeID, ChargerId: c.ChargerID, Connector: c.Connector,
		Kind: c.Kind, Params: c.Params, Limit: c.Limit, State: c.State.Proto(), Detail: c.Detail, Values: c.Values,
		RequestedBy: c.RequestedBy, RequestedAt: ts(c.RequestedAt), SentAt: ts(c.SentAt), FinishedAt: ts(c.FinishedAt),
		ExpiresAt: ts(c.ExpiresAt), Deadline: ts(c.Deadline),
	}
}

// message is what the edge receives.
func (c Command) message() *chargeplanev1.ChargerCommand {
	return &chargeplanev1.ChargerCommand{
		CommandId: c.ID, ChargerId: c.ChargerID, Kind: c.Kind, Connector: c.Connector,
		Limit: c.Limit, Params: c.Params, ExpiresAt: timestamppb.New(c.ExpiresAt),
	}
}

// Update is the live update announcing c's state.
func (c Command) Update(now time.Time) *chargeplanev1.LiveUpdate {
	return &chargeplanev1.LiveUpdate{
		TenantId: c.TenantID, EdgeId: c.EdgeID, ChargerId: c.ChargerID, Connector: c.Connector,
		OccurredAt: timestamppb.New(now),
		Kind:       &chargeplanev1.LiveUpdate_Command{Command: c.Proto()},
	}
}

// Request is a command to send.
type Request struct {
	TenantID  string
	EdgeID    string
	ChargerID string
	Connector uint32
	Kind      string
	Params    map[string]string
	Limit     *chargeplanev1.Limit
	// RequestedBy is access.Principal.Subject() of the caller.
	RequestedBy string
}

// Result is a CommandResult an edge reported.
type Result struct {
	TenantID  string
	EdgeID    string
	CommandID string
	// Status is CommandResult.status ("accepted", …).
	Status string
	Detail string
	Values map[string]string
	// At is when the edge recorded the result.
	At time.Time
}

// Errors callers branch on.
var (
	// ErrNotFound: no such command in the tenant. Errors wrapping it name
	// only the id the caller gave.
	ErrNotFound = errors.New("not found")
	// ErrInvalid: a request that breaks a rule of the command (an unknown
	// kind, no charger); the API checks requests before, so it means a bug.
	ErrInvalid = errors.New("invalid command")
)

// newID returns a random command id: 128 bits, so ids never collide across
// tenants or replicas.
func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (Go 1.24+)
	return "cmd_" + hex.EncodeToString(b)
}

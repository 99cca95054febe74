// Package command holds the protocol-neutral commands the edge sends to
// chargers and their results. Adapters carry them out; control, downlink and
// the admin page issue them. It is its own package so that control can issue
// commands without importing the adapters.
package command

import (
	"errors"

	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// Command kinds every adapter understands (those its protocol supports).
const (
	Start           = "start"
	Stop            = "stop"
	QueryStatus     = "query_status"
	SetParameters   = "set_parameters"
	QueryParameters = "query_parameters"
	Pair            = "pair"
	Unpair          = "unpair"
	OTA             = "ota"
	// Reboot restarts the charger (AP3000 0x87). It is sent once, never
	// resent: a device that rebooted before answering must not reboot again.
	Reboot = "reboot"
)

// Command results.
const (
	ResultAccepted = "accepted"
	ResultRejected = "rejected"
	ResultTimedOut = "timed_out"
	ResultFailed   = "failed"
)

// Command is a protocol-neutral instruction to one charger.
type Command struct {
	// ID correlates the command with its CommandResult event.
	ID   string
	Kind string
	// Connector is the target connector (0: the charger itself).
	Connector uint32
	// Limit bounds a start; nil means the protocol's "until full".
	Limit *chargeplanev1.Limit
	// Params carries kind-specific arguments by name (e.g. "mac" for pair,
	// parameter names for set_parameters, "url" for ota).
	Params map[string]string
}

// Result is what the charger answered.
type Result struct {
	Status string
	Detail string
	// SessionRef is the charger's session reference a start produced.
	SessionRef string
	// Values are query results by name.
	Values map[string]string
}

// ErrNotConnected reports a command for a charger with no live connection.
var ErrNotConnected = errors.New("charger not connected")

// ErrUnsupported reports a command kind the charger's protocol cannot carry.
var ErrUnsupported = errors.New("command not supported by this protocol")

// ErrInvalidCommand reports a command with missing or malformed arguments.
var ErrInvalidCommand = errors.New("invalid command")

package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"mime"
	"net/http"
	"time"

	"github.com/chargeplane/chargeplane/edge/command"
	"github.com/chargeplane/chargeplane/edge/station"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// Executor runs a command for a charger and returns the charger's answer.
// control.Book implements it: starts are authorized and billed there, and
// reach the charger through the adapter registry.
type Executor interface {
	Execute(ctx context.Context, chargerID, protocol string, cmd command.Command) (command.Result, error)
}

// Connections tells whether a charger has a live session and its protocol.
// adapter.Registry implements it.
type Connections interface {
	Protocol(chargerID string) (string, bool)
}

// commandRequest is the JSON body of POST /chargers/{id}/commands: the
// installer's test start/stop, pairing and parameter calls.
type commandRequest struct {
	// ID correlates the command with its CommandResult event; generated when empty.
	ID        string            `json:"id"`
	Kind      string            `json:"kind"`
	Connector uint32            `json:"connector"`
	Limit     *commandLimit     `json:"limit"`
	Params    map[string]string `json:"params"`
}

// commandLimit is a start's limit; exactly one field is set.
type commandLimit struct {
	DurationS int64 `json:"duration_s"`
	EnergyWh  int64 `json:"energy_wh"`
	// AmountFen is enforced by the control book, which stops the session
	// when the billed amount reaches it.
	AmountFen int64 `json:"amount_fen"`
}

// sourceLocal marks a start from this page: the control book records it
// with auth method "local" (an installer's test, billed to nobody).
const sourceLocal = "local"

// ChargerRoutes serves the installer's view of the site:
//
//	GET  /chargers                 every charger seen since start, with its connectors
//	GET  /chargers/{id}            one charger
//	POST /chargers/{id}/commands   send a command through exec and wait for its result
//
// The view comes from state; conns says which chargers can take a command
// now and in which protocol.
func ChargerRoutes(state *station.State, conns Connections, exec Executor, now func() time.Time) []Route {
	list := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"chargers": state.Chargers()})
	})
	one := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		c, ok := state.Charger(id)
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "charger " + id + " has not connected since the edge started"})
			return
		}
		writeJSON(w, http.StatusOK, c)
	})
	send := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sendCommand(w, r, state, conns, exec, now)
	})
	return []Route{
		{Pattern: "GET /chargers", Handler: list},
		{Pattern: "GET /chargers/{id}", Handler: one},
		{Pattern: "POST /chargers/{id}/commands", Handler: send},
	}
}

func sendCommand(w http.ResponseWriter, r *http.Request, state *station.State, conns Connections, exec Executor, now func() time.Time) {
	// A browser sends application/json cross-origin only after a CORS
	// preflight, which this server never grants: requiring it keeps another
	// web page open on the installer's laptop from starting chargers.
	if ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || ct != "application/json" {
		writeJSON(w, http.StatusUnsupportedMediaType, map[string]string{"error": "Content-Type must be application/json"})
		return
	}
	id := r.PathValue("id")
	protocol, ok := conns.Protocol(id)
	if !ok {
		if _, known := state.Charger(id); known {
			writeJSON(w, http.StatusConflict, map[string]string{"error": "charger " + id + " is not connected"})
			return
		}
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "charger " + id + " is not connected"})
		return
	}
	var req commandRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid JSON body: " + err.Error()})
		return
	}
	cmd, err := req.command(now)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	res, err := exec.Execute(r.Context(), id, protocol, cmd)
	body := map[string]any{"id": cmd.ID, "kind": cmd.Kind, "status": res.Status, "detail": res.Detail,
		"session_ref": res.SessionRef, "values": res.Values}
	if err != nil {
		body["error"] = err.Error()
		if res.Status == "" {
			body["status"] = command.ResultFailed
		}
	}
	switch {
	case errors.Is(err, command.ErrInvalidCommand), errors.Is(err, command.ErrUnsupported):
		writeJSON(w, http.StatusBadRequest, body)
	case errors.Is(err, command.ErrNotConnected):
		writeJSON(w, http.StatusConflict, body)
	case err != nil:
		writeJSON(w, http.StatusBadGateway, body)
	default:
		writeJSON(w, http.StatusOK, body)
	}
}

// errBadRequest marks a request the page or script got wrong.
var errBadRequest = errors.New("bad command") //nolint:gochecknoglobals // sentinel

func (req commandRequest) command(now func() time.Time) (command.Command, error) {
	switch req.Kind {
	case command.Start, command.Stop, command.QueryStatus, command.SetParameters,
		command.QueryParameters, command.Pair, command.Unpair, command.OTA, command.Reboot:
	default:
		return command.Command{}, fmt.Errorf("%w: kind %q is not one of start, stop, query_status, set_parameters, "+
			"query_parameters, pair, unpair, ota", errBadRequest, req.Kind)
	}
	cmd := command.Command{ID: req.ID, Kind: req.Kind, Connector: req.Connector, Params: maps.Clone(req.Params)}
	if cmd.ID == "" {
		cmd.ID = fmt.Sprintf("admin-%d", now().UnixNano())
	}
	if cmd.Kind == command.Start {
		if cmd.Params == nil {
			cmd.Params = make(map[string]string, 1)
		}
		cmd.Params["source"] = sourceLocal
	}
	if req.Limit == nil {
		return cmd, nil
	}
	if cmd.Kind != command.Start {
		return command.Command{}, fmt.Errorf("%w: only start takes a limit", errBadRequest)
	}
	l := req.Limit
	set := 0
	for _, v := range []int64{l.DurationS, l.EnergyWh, l.AmountFen} {
		if v < 0 {
			return command.Command{}, fmt.Errorf("%w: limit values must be positive", errBadRequest)
		}
		if v > 0 {
			set++
		}
	}
	switch {
	case set > 1:
		return command.Command{}, fmt.Errorf("%w: limit takes one of duration_s, energy_wh or amount_fen", errBadRequest)
	case l.DurationS > 0:
		cmd.Limit = &chargeplanev1.Limit{Kind: &chargeplanev1.Limit_DurationS{DurationS: l.DurationS}}
	case l.EnergyWh > math.MaxInt64/1000:
		return command.Command{}, fmt.Errorf("%w: energy_wh %d is too large", errBadRequest, l.EnergyWh)
	case l.EnergyWh > 0:
		cmd.Limit = &chargeplanev1.Limit{Kind: &chargeplanev1.Limit_EnergyMwh{EnergyMwh: l.EnergyWh * 1000}}
	case l.AmountFen > 0:
		cmd.Limit = &chargeplanev1.Limit{Kind: &chargeplanev1.Limit_AmountFen{AmountFen: l.AmountFen}}
	default:
		return command.Command{}, fmt.Errorf("%w: limit needs a positive duration_s, energy_wh or amount_fen", errBadRequest)
	}
	return cmd, nil
}

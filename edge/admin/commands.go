package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/chargeplane/chargeplane/edge/adapter"
	"github.com/chargeplane/chargeplane/edge/command"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

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

type commandLimit struct {
	DurationS int64 `json:"duration_s"`
	EnergyWh  int64 `json:"energy_wh"`
}

// ChargerRoutes serves the installer's view of the connected chargers:
//
//	GET  /chargers                 connected chargers and their protocol
//	POST /chargers/{id}/commands   send a command and wait for its result
func ChargerRoutes(reg *adapter.Registry, now func() time.Time) []Route {
	list := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"chargers": reg.Connected()})
	})
	send := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		protocol, ok := reg.Protocol(id)
		if !ok {
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
		res, err := reg.Do(r.Context(), id, protocol, cmd)
		body := map[string]any{"id": cmd.ID, "kind": cmd.Kind, "status": res.Status, "detail": res.Detail,
			"session_ref": res.SessionRef, "values": res.Values}
		switch {
		case errors.Is(err, command.ErrInvalidCommand), errors.Is(err, command.ErrUnsupported):
			writeJSON(w, http.StatusBadRequest, body)
		case errors.Is(err, command.ErrNotConnected):
			writeJSON(w, http.StatusNotFound, body)
		case err != nil:
			writeJSON(w, http.StatusBadGateway, body)
		default:
			writeJSON(w, http.StatusOK, body)
		}
	})
	return []Route{{Pattern: "GET /chargers", Handler: list}, {Pattern: "POST /chargers/{id}/commands", Handler: send}}
}

var errBadRequest = errors.New("bad command") //nolint:gochecknoglobals // sentinel

func (req commandRequest) command(now func() time.Time) (command.Command, error) {
	switch req.Kind {
	case command.Start, command.Stop, command.QueryStatus, command.SetParameters,
		command.QueryParameters, command.Pair, command.Unpair, command.OTA:
	default:
		return command.Command{}, fmt.Errorf("%w: kind %q is not one of start, stop, query_status, set_parameters, "+
			"query_parameters, pair, unpair, ota", errBadRequest, req.Kind)
	}
	cmd := command.Command{ID: req.ID, Kind: req.Kind, Connector: req.Connector, Params: req.Params}
	if cmd.ID == "" {
		cmd.ID = fmt.Sprintf("admin-%d", now().UnixNano())
	}
	if l := req.Limit; l != nil {
		switch {
		case l.DurationS > 0 && l.EnergyWh > 0:
			return command.Command{}, fmt.Errorf("%w: limit takes duration_s or energy_wh, not both", errBadRequest)
		case l.DurationS > 0:
			cmd.Limit = &chargeplanev1.Limit{Kind: &chargeplanev1.Limit_DurationS{DurationS: l.DurationS}}
		case l.EnergyWh > 0:
			cmd.Limit = &chargeplanev1.Limit{Kind: &chargeplanev1.Limit_EnergyMwh{EnergyMwh: l.EnergyWh * 1000}}
		default:
			return command.Command{}, fmt.Errorf("%w: limit needs a positive duration_s or energy_wh", errBadRequest)
		}
	}
	return cmd, nil
}

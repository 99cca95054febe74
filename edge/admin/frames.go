package admin

import (
	"encoding/hex"
	"net/http"
	"strconv"
	"time"

	"github.com/chargeplane/chargeplane/edge/framelog"
	"github.com/chargeplane/chargeplane/shared/protocol/inspect"
)

// frameView is one logged frame as the installer sees it: the hex and what
// the codec makes of it (or why it does not decode).
type frameView struct {
	At        time.Time      `json:"at"`
	Direction string         `json:"direction"`
	Hex       string         `json:"hex"`
	Truncated bool           `json:"truncated,omitempty"`
	Decoded   map[string]any `json:"decoded,omitempty"`
	Error     string         `json:"error,omitempty"`
}

// FramesRoute serves GET /chargers/{id}/frames: the charger's recent raw
// frames, oldest first, decoded when read. ?limit=N keeps only the N most
// recent (the page shows 20), so only those are decoded.
func FramesRoute(log *framelog.Log) Route {
	return Route{Pattern: "GET /chargers/{id}/frames", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		limit := 0
		if v := r.URL.Query().Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "limit " + strconv.Quote(v) + ": want a positive number"})
				return
			}
			limit = n
		}
		entries := log.Frames(id)
		if entries == nil {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "no frames logged for charger " + id})
			return
		}
		if limit > 0 && len(entries) > limit {
			entries = entries[len(entries)-limit:]
		}
		views := make([]frameView, 0, len(entries))
		for _, e := range entries {
			v := frameView{At: e.At, Direction: e.Direction, Hex: hex.EncodeToString(e.Frame), Truncated: e.Truncated}
			if c, err := inspect.For(e.Protocol); err != nil {
				v.Error = err.Error()
			} else if fields, err := c.Inspect(e.Frame, e.Direction); err != nil {
				v.Error = err.Error()
			} else {
				v.Decoded = fields
			}
			views = append(views, v)
		}
		writeJSON(w, http.StatusOK, map[string]any{"charger_id": id, "frames": views})
	})}
}

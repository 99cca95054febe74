package api

import (
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/chargeplane/chargeplane/cloud/fleet"
	"github.com/chargeplane/chargeplane/shared/topic"
)

// maxIDLen bounds tenant, edge and charger ids.
const maxIDLen = 128

// checkID checks a tenant or edge id: these are also MQTT topic levels.
func checkID(field, v string, required bool) error {
	switch {
	case v == "" && required:
		return &FieldError{Field: field, Reason: "required"}
	case v == "":
		return nil
	case len(v) > maxIDLen:
		return &FieldError{Field: field, Reason: fmt.Sprintf("at most %d bytes, got %d", maxIDLen, len(v))}
	case !topic.ValidSegment(v):
		return &FieldError{Field: field, Reason: "must not contain '/', '+', '#' or NUL"}
	}
	return nil
}

// Page sizes of ListChargers.
const (
	defaultPageSize = 100
	maxPageSize     = 1000
)

func pageSize(n int32) (int, error) {
	switch {
	case n == 0:
		return defaultPageSize, nil
	case n < 1 || n > maxPageSize:
		return 0, &FieldError{Field: "page_size", Reason: fmt.Sprintf("must be between 1 and %d (0 means %d), got %d", maxPageSize, defaultPageSize, n)}
	}
	return int(n), nil
}

// A page token is the base64url (unpadded) JSON array [edge_id, charger_id]
// of the last charger of the previous page. Clients must treat it as opaque.

func encodePageToken(c fleet.Cursor) string {
	raw, _ := json.Marshal([2]string{c.EdgeID, c.ChargerID}) // strings always marshal
	return base64.RawURLEncoding.EncodeToString(raw)
}

func decodePageToken(tok string) (*fleet.Cursor, error) {
	if tok == "" {
		return nil, nil
	}
	bad := &FieldError{Field: "page_token", Reason: "malformed: pass next_page_token from the previous response unchanged"}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return nil, bad
	}
	var k [2]string
	if err := json.Unmarshal(raw, &k); err != nil || k[0] == "" || k[1] == "" {
		return nil, bad
	}
	return &fleet.Cursor{EdgeID: k[0], ChargerID: k[1]}, nil
}

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
	return encodeToken([2]string{c.EdgeID, c.ChargerID})
}

func decodePageToken(tok string) (*fleet.Cursor, error) {
	var k [2]string
	if ok, err := decodeToken(tok, &k, func() bool { return k[0] != "" && k[1] != "" }); !ok {
		return nil, err
	}
	return &fleet.Cursor{EdgeID: k[0], ChargerID: k[1]}, nil
}

// encodeToken makes an opaque page token: base64url (unpadded) JSON of v.
func encodeToken(v any) string {
	raw, _ := json.Marshal(v) // callers pass plain structs and arrays, which always marshal
	return base64.RawURLEncoding.EncodeToString(raw)
}

// decodeToken reads a token made by encodeToken into v. It reports false
// with a nil error for the empty token (first page), and false with a
// page_token FieldError when the token is malformed or valid() rejects it.
func decodeToken(tok string, v any, valid func() bool) (bool, error) {
	if tok == "" {
		return false, nil
	}
	bad := &FieldError{Field: "page_token", Reason: "malformed: pass next_page_token from the previous response unchanged"}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return false, bad
	}
	if err := json.Unmarshal(raw, v); err != nil || !valid() {
		return false, bad
	}
	return true, nil
}

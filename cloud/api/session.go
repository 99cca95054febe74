package api

import (
	"context"
	"fmt"
	"strings"
	"time"

	"connectrpc.com/connect"

	"github.com/chargeplane/chargeplane/cloud/access"
	"github.com/chargeplane/chargeplane/cloud/ledger"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// SessionService serves chargeplane.v1.SessionService: the session ledger.
type SessionService struct {
	ledger *ledger.Store
}

// ListSessions pages through a tenant's sessions newest first; a driver
// sees only their own (user_id).
func (s *SessionService) ListSessions(ctx context.Context, req *connect.Request[chargeplanev1.ListSessionsRequest]) (*connect.Response[chargeplanev1.ListSessionsResponse], error) {
	msg := req.Msg
	p, tenant, err := callerScope(ctx, msg.GetTenantId())
	if err != nil {
		return nil, err
	}
	for _, f := range []struct{ name, v string }{
		{"edge_id", msg.GetEdgeId()}, {"charger_id", msg.GetChargerId()}, {"card_id", msg.GetCardId()},
		{"user_id", msg.GetUserId()}, {"site_id", msg.GetSiteId()},
	} {
		switch {
		case len(f.v) > maxIDLen:
			return nil, &FieldError{Field: f.name, Reason: fmt.Sprintf("at most %d bytes, got %d", maxIDLen, len(f.v))}
		case strings.ContainsRune(f.v, 0):
			return nil, &FieldError{Field: f.name, Reason: "must not contain NUL"}
		}
	}
	from, err := timeOf("from", msg.GetFrom(), false)
	if err != nil {
		return nil, err
	}
	to, err := timeOf("to", msg.GetTo(), false)
	if err != nil {
		return nil, err
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return nil, &FieldError{Field: "to", Reason: "must be after from"}
	}
	size, err := pageSize(msg.GetPageSize())
	if err != nil {
		return nil, err
	}
	after, err := decodeSessionToken(msg.GetPageToken())
	if err != nil {
		return nil, err
	}
	filter := ledger.Filter{
		TenantID: tenant, EdgeID: msg.GetEdgeId(), ChargerID: msg.GetChargerId(), CardID: msg.GetCardId(),
		UserID: msg.GetUserId(), SiteID: msg.GetSiteId(), From: from, To: to,
	}
	if p.Role == access.RoleDriver {
		// A driver's own sessions, never anyone else's.
		filter.UserID = p.UserID
	}
	rows, err := s.ledger.List(ctx, filter, after, size+1)
	if err != nil {
		return nil, err
	}
	res := &chargeplanev1.ListSessionsResponse{}
	if len(rows) > size {
		rows = rows[:size]
		last := rows[len(rows)-1]
		res.NextPageToken = encodeSessionToken(ledger.Cursor{StartedAt: last.StartedAt, EdgeID: last.EdgeID, Seq: last.Seq})
	}
	res.Sessions = make([]*chargeplanev1.Session, len(rows))
	for i, r := range rows {
		res.Sessions[i] = sessionProto(r)
	}
	return connect.NewResponse(res), nil
}

// A session page token is the base64url (unpadded) JSON of the last
// session's sort key. Clients must treat it as opaque.
type sessionToken struct {
	StartedAt time.Time `json:"t"`
	EdgeID    string    `json:"e"`
	Seq       uint64    `json:"s"`
}

func encodeSessionToken(c ledger.Cursor) string {
	return encodeToken(sessionToken{StartedAt: c.StartedAt.UTC(), EdgeID: c.EdgeID, Seq: c.Seq})
}

func decodeSessionToken(tok string) (*ledger.Cursor, error) {
	var t sessionToken
	valid := func() bool { return !t.StartedAt.IsZero() && t.EdgeID != "" && t.Seq != 0 && t.Seq <= ledger.MaxSeq }
	if ok, err := decodeToken(tok, &t, valid); !ok {
		return nil, err
	}
	return &ledger.Cursor{StartedAt: t.StartedAt, EdgeID: t.EdgeID, Seq: t.Seq}, nil
}

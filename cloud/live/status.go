package live

import (
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// Entry is the current status of one connector, a row of connector_status.
type Entry struct {
	TenantID   string
	EdgeID     string
	ChargerID  string
	Connector  uint32
	Status     chargeplanev1.ConnectorStatus
	RawStatus  string
	SessionRef string
	// UpdatedAt is when the event that set the entry happened.
	UpdatedAt time.Time
	// Seq is the edge's seq of that event.
	Seq uint64
}

// Proto returns e as the API shows it.
func (e Entry) Proto() *chargeplanev1.ConnectorStatusEntry {
	return &chargeplanev1.ConnectorStatusEntry{
		TenantId: e.TenantID, EdgeId: e.EdgeID, ChargerId: e.ChargerID, Connector: e.Connector,
		Status: e.Status, RawStatus: e.RawStatus, SessionRef: e.SessionRef,
		UpdatedAt: timestamppb.New(e.UpdatedAt), Seq: e.Seq,
	}
}

const statusPrefix = "CONNECTOR_STATUS_"

// StatusName is how connector_status.status stores s: the enum name without
// its prefix, lowercase ("available").
func StatusName(s chargeplanev1.ConnectorStatus) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), statusPrefix))
}

// ParseStatus is the inverse of StatusName; names it does not know (a newer
// cloud wrote them) read as unspecified.
func ParseStatus(name string) chargeplanev1.ConnectorStatus {
	return chargeplanev1.ConnectorStatus(chargeplanev1.ConnectorStatus_value[statusPrefix+strings.ToUpper(name)])
}

// statusAfterEnd is the connector's status once a session on it ended: the
// session is over but, unless the charger says so (its next status event),
// nothing tells that the connector is free again.
func statusAfterEnd(e *chargeplanev1.SessionEnded) chargeplanev1.ConnectorStatus {
	if e.GetReason() == chargeplanev1.EndReason_END_REASON_FAULT {
		return chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_FAULTED
	}
	return chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_FINISHING
}

// entryOf returns what ev says about its connector's status, if anything:
// ConnectorStatusChanged sets it, SessionStarted makes it charging and
// SessionEnded finishing (or faulted, when the session ended on a fault).
func entryOf(tenant string, ev *chargeplanev1.Event) (Entry, bool) {
	e := Entry{
		TenantID: tenant, EdgeID: ev.GetEdgeId(), ChargerID: ev.GetChargerId(), Connector: ev.GetConnector(),
		UpdatedAt: ev.GetOccurredAt().AsTime(), Seq: ev.GetSeq(),
	}
	switch k := ev.GetKind().(type) {
	case *chargeplanev1.Event_ConnectorStatus:
		e.Status = k.ConnectorStatus.GetStatus()
		e.RawStatus = k.ConnectorStatus.GetRawStatus()
		e.SessionRef = k.ConnectorStatus.GetSessionRef()
	case *chargeplanev1.Event_SessionStarted:
		e.Status = chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_CHARGING
		e.SessionRef = k.SessionStarted.GetSessionRef()
	case *chargeplanev1.Event_SessionEnded:
		e.Status = statusAfterEnd(k.SessionEnded)
	default:
		return Entry{}, false
	}
	return e, true
}

// newest keeps, per connector, the entry of the newest event (highest seq),
// in key order: one upsert statement may touch each row only once, and
// replicas that lock rows in the same order cannot deadlock.
func newest(entries []Entry) []Entry {
	type key struct {
		tenant, edge, charger string
		connector             uint32
	}
	at := map[key]int{}
	var out []Entry
	for _, e := range entries {
		k := key{e.TenantID, e.EdgeID, e.ChargerID, e.Connector}
		if i, ok := at[k]; ok {
			if e.Seq > out[i].Seq {
				out[i] = e
			}
			continue
		}
		at[k] = len(out)
		out = append(out, e)
	}
	sortEntries(out)
	return out
}

func sortEntries(es []Entry) {
	less := func(a, b Entry) int {
		for _, c := range []int{
			strings.Compare(a.TenantID, b.TenantID), strings.Compare(a.EdgeID, b.EdgeID), strings.Compare(a.ChargerID, b.ChargerID),
		} {
			if c != 0 {
				return c
			}
		}
		switch {
		case a.Connector < b.Connector:
			return -1
		case a.Connector > b.Connector:
			return 1
		}
		return 0
	}
	slices.SortFunc(es, less)
}

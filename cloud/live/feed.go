package live

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/chargeplane/chargeplane/cloud/fleet"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// Feed turns newly stored events into connector status and live updates.
// Its Observe is an ingest observer (cloud/ingest.Observer).
type Feed struct {
	statuses *Statuses
	hub      *Hub
}

// NewFeed returns a Feed writing to statuses and publishing on hub.
func NewFeed(statuses *Statuses, hub *Hub) *Feed {
	return &Feed{statuses: statuses, hub: hub}
}

// Observe updates connector_status from events (one statement) and
// publishes, in one Redis round trip, the statuses that changed and the
// sessions that started or ended. Only the kinds it uses are decoded, so
// the heartbeats that make up most of the stream cost nothing. It is
// idempotent: events seen before change no status and republish at most
// their session update, which watchers must tolerate anyway.
func (f *Feed) Observe(ctx context.Context, events []fleet.Event) error {
	var (
		entries []Entry
		updates []*chargeplanev1.LiveUpdate
		errs    []error
	)
	for _, e := range events {
		switch e.Kind {
		case fleet.KindConnectorStatus, fleet.KindSessionStarted, fleet.KindSessionEnded:
		default:
			continue
		}
		var ev chargeplanev1.Event
		if err := proto.Unmarshal(e.Payload, &ev); err != nil {
			errs = append(errs, fmt.Errorf("decode event %q seq %d: %w", e.EdgeID, e.Seq, err))
			continue
		}
		if entry, ok := entryOf(e.TenantID, &ev); ok {
			entries = append(entries, entry)
		}
		u := &chargeplanev1.LiveUpdate{
			TenantId: e.TenantID, EdgeId: e.EdgeID, ChargerId: e.ChargerID, Connector: e.Connector,
			Seq: e.Seq, OccurredAt: ev.GetOccurredAt(),
		}
		switch k := ev.GetKind().(type) {
		case *chargeplanev1.Event_SessionStarted:
			u.Kind = &chargeplanev1.LiveUpdate_SessionStarted{SessionStarted: k.SessionStarted}
			updates = append(updates, u)
		case *chargeplanev1.Event_SessionEnded:
			u.Kind = &chargeplanev1.LiveUpdate_SessionEnded{SessionEnded: k.SessionEnded}
			updates = append(updates, u)
		}
	}
	changed, err := f.statuses.Apply(ctx, entries)
	if err != nil {
		// Still publish the sessions: watchers lose only the statuses.
		errs = append(errs, err)
	}
	for _, e := range changed {
		updates = append(updates, StatusUpdate(e))
	}
	if err := f.hub.Publish(ctx, updates...); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// StatusUpdate is the live update announcing e.
func StatusUpdate(e Entry) *chargeplanev1.LiveUpdate {
	p := e.Proto()
	return &chargeplanev1.LiveUpdate{
		TenantId: e.TenantID, EdgeId: e.EdgeID, ChargerId: e.ChargerID, Connector: e.Connector,
		Seq: e.Seq, OccurredAt: p.GetUpdatedAt(),
		Kind: &chargeplanev1.LiveUpdate_ConnectorStatus{ConnectorStatus: p},
	}
}

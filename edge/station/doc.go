// Package station keeps what the site looks like right now: which chargers
// are connected, what each connector is doing and its live meter. It is the
// installer page's source and feeds two gauges; it is memory only and starts
// empty (chargers reappear when they connect).
//
// State is a Recorder decorator in the edge's event chain
// (adapters → station.State → control.Book → store). It folds events into
// its view only after the next Recorder has stored them, so the view never
// shows a fact that was not recorded. It does not decide anything and does
// not change the events it passes on.
//
// Folding rules, where the events alone are ambiguous:
//   - A charger is connected while it has more ChargerConnected than
//     ChargerDisconnected events. On a reconnect the old connection's
//     disconnect ("replaced") can be stored after the new connection's
//     connect, so counting (not "last event wins") keeps it connected.
//   - Every connector of a disconnected charger shows "offline"; its last
//     reported status is kept and shown again when the charger reconnects,
//     until the charger reports anew (sessions keep running across a lost
//     link).
//   - A session ends in the view with its SessionEnded. Status and meter
//     events that still name that session afterwards (late reports, a
//     repeated end after a reconnect) do not reopen it; only a SessionStarted
//     does.
//   - A meter report without energy and duration (AP3000's old heartbeat
//     carries power and voltage only) keeps the session's last energy and
//     duration instead of showing 0.
//   - Connector 0 is the charger itself: its alarms and temperature are the
//     charger's, and it is not listed as a connector.
//   - CommandResult events never create a charger: a command for an unknown
//     id is stored as a failed result and must not make the id appear.
package station

// Package adapter turns charger protocol sessions into protocol-neutral
// events and replies: one file set per protocol. An adapter reads frames
// from a gateway.Conn, decodes them with the codec in shared/protocol/<wire>,
// stores what they say durably (edge/store) and only then acknowledges the
// charger. Protocol addressing never leaves this package: events carry the
// charger id and a connector number.
package adapter

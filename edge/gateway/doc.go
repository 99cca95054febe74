// Package gateway accepts charger connections on the edge, recognises each
// connection's protocol from its first bytes and hands it to that protocol's
// adapter. It enforces the connection limits (max connections, accept rate,
// sniff and idle timeouts, write deadlines) and owns every connection
// goroutine, so shutdown can wait for them.
//
// It knows nothing about any protocol beyond the Sniff function each one
// registers; decoding and replies live in edge/adapter.
package gateway

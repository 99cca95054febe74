// Package gateway accepts charger connections on the edge, recognises each
// connection's protocol from its first bytes and hands it to that protocol's
// adapter. It enforces the connection limits (max connections, accept rate,
// sniff and idle timeouts, write deadlines) and owns every connection
// goroutine, so shutdown can wait for them.
//
// It also owns what keeps a connection cheap while its charger is silent,
// which is almost always: read buffers, shared through a pool and taken only
// once bytes have arrived (Conn.ReadPooled), and the goroutines that handle
// frames (Conn.Handle), shared by all connections so that a connection's own
// goroutine stays parked in a read on a small stack. Ten thousand idle
// connections then cost about 4 KiB of stack each, and no buffer.
//
// It knows nothing about any protocol beyond the Sniff function each one
// registers; decoding and replies live in edge/adapter.
package gateway

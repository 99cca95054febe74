// Package sim simulates chargers for tests, demos and load generation: each
// simulated charger opens its own TCP connection to an edge and speaks the
// charger's protocol byte for byte, built with the same codecs the edge uses
// to decode. It measures how quickly the edge answers.
//
// A Fleet runs many chargers of one protocol. Heartbeat-only chargers (the
// zero BKVOptions / AP3000Options) measure reply latency; with Sessions they
// behave like the devices: BKV gateways with radio sockets that wait to be
// paired, report status, take card swipes and charge by time or energy,
// ending with end reports they repeat until acknowledged (BKVGateway); AP3000
// devices that send their ICCID and "link", register, report port status,
// meter while charging and settle (runAP3000). Randomness is seeded from the
// charger's index, so runs are reproducible, and each simulator reports what
// it delivered so tests compare the edge's records with the device's own
// numbers.
//
// Config.OnSession hears every session whose end report the edge
// acknowledged, named as the edge names it (Session); SessionLog writes them
// as JSON lines, the contract `make chaos` checks the cloud against: an
// acknowledged end report means the edge owns the session. A BKV gateway
// keeps its unacknowledged end reports across reconnects and repeats them,
// and matches each 0x02 reply to the oldest report it sent for that socket
// on the connection, so a reply to a repeat is never taken for the ack of
// another port's report.
package sim

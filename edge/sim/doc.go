// Package sim simulates chargers for tests, demos and load generation: each
// simulated charger opens its own TCP connection to an edge and speaks the
// charger's protocol byte for byte, built with the same codecs the edge uses
// to decode. It measures how quickly the edge answers.
//
// Today it simulates BKV gateways that send heartbeats; sessions, status and
// the other protocols grow here.
package sim

// Command chargechaos is `make chaos`: it proves, with the real binaries on
// loopback, that sessions survive an offline day and kill -9 of the edge.
//
// It builds chargeplane-cloud, chargeplane-edge and chargesim into a temp
// dir, creates a fresh Postgres database (chaos_<unix>, dropped at the end),
// runs the cloud with its embedded MQTT broker (so stopping the cloud takes
// the edge fully offline), provisions a tenant, an edge, cards and a flat
// tariff with the cloud CLI, and runs two scenarios against one edge agent:
//
//   - offline: the cloud is stopped; chargesim's BKV gateways run card
//     sessions until at least 200 end reports were acknowledged; the cloud
//     comes back and the edge drains.
//   - crash: with the cloud up, chargesim sends status reports and sessions
//     while the edge is killed with SIGKILL several times at random moments
//     and restarted on the same store; then the edge drains.
//
// Each scenario compares what the simulator handed over (its -sessions-log:
// end reports the edge acknowledged) with the cloud's sessions and cards
// tables, and the last line printed is
//
//	chaos: sessions=N in_cloud=N lost=N duplicated=N amount_mismatch=N
//
// The exit status is 0 only if lost, duplicated and amount_mismatch are all
// 0, the offline scenario produced enough sessions and no step failed.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Command chargeplane-cloud is the ChargePlane cloud: MQTT ingest, the
// Connect API and the Postgres schema, in one binary.
//
//	chargeplane-cloud [serve] [flags]         run the cloud (default)
//	chargeplane-cloud migrate [-create-db]    apply pending migrations and exit
//	chargeplane-cloud check-config [flags]    validate the configuration and print it, secrets redacted
//	chargeplane-cloud edge create -tenant T -edge E [-name N]   provision an edge; prints "credential: …" once
//	chargeplane-cloud edge rotate|revoke -edge E [-tenant T]     new credential (printed) / revoke the edge
//	chargeplane-cloud card put -tenant T -card C -balance-fen N [-offline-limit-fen N] [-blocked] [-user U]
//	chargeplane-cloud tariff set -edge E -electricity 0.6523 -service 0.40 [-id ID]   flat tariff, yuan/kWh
//	chargeplane-cloud admin create-admin -email E [-name N] [-password-stdin]   first platform admin; prints a generated password
//
// The edge, card and tariff commands work on the configured Postgres (like
// the API, through cloud/site) and send the affected edges a config-changed
// hint through the configured broker when it answers.
//
// Configuration: defaults < -config YAML file < CHARGEPLANE_CLOUD_* environment
// < -set key=value flags < -http-addr / -postgres-url. deploy/chargeplane-cloud.yaml
// lists every key.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "chargeplane-cloud:", err)
		if errors.As(err, new(usageError)) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

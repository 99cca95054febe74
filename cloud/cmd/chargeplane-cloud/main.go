// Command chargeplane-cloud is the ChargePlane cloud: MQTT ingest, the
// Connect API and the Postgres schema, in one binary.
//
//	chargeplane-cloud [serve] [flags]         run the cloud (default)
//	chargeplane-cloud migrate [-create-db]    apply pending migrations and exit
//	chargeplane-cloud check-config [flags]    validate the configuration and print it, secrets redacted
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
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "chargeplane-cloud:", err)
		if errors.As(err, new(usageError)) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

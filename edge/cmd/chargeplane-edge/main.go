// Command chargeplane-edge is the ChargePlane edge agent: it runs on a site's
// gateway box, terminates charger connections, stores every fact durably and
// syncs with the cloud. Its subcommand `decode` inspects charger frames.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	if code != 0 {
		os.Exit(code)
	}
}

// exitf prints an error for the user and returns the failure exit code.
func exitf(w interface{ Write([]byte) (int, error) }, format string, args ...any) int {
	fmt.Fprintf(w, "chargeplane-edge: "+format+"\n", args...)
	return 1
}

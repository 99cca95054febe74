// Package server assembles the cloud: from a validated Config it opens
// Postgres (and migrates it), Redis and, when configured, the embedded MQTT
// broker, then runs the ingest consumer, the config-hint publisher and the
// HTTP server (Connect API, /healthz, /readyz, /metrics) together until its
// context ends, and shuts them down in order.
//
// It lives outside cmd/chargeplane-cloud so that tests can run the whole
// cloud in-process (cloud/cloudtest); the binary's main only loads the
// configuration and calls Run. Nothing else imports it.
package server

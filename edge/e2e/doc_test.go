// Package e2e_test holds end-to-end tests across both tiers: an edge agent
// (edgetest) and a cloud (cloudtest) run in-process against the real local
// Postgres, Redis and Mosquitto, and simulated chargers (edge/sim) speak the
// charger protocols to the edge byte for byte. Test code only: it is the one
// place where edge and cloud code meet outside the binaries.
package e2e_test

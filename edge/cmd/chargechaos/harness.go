package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/chargeplane/chargeplane/edge/sim"
)

// Bounds of the individual waits; the whole run is bounded by -timeout.
const (
	readyTimeout     = 60 * time.Second  // a process answers /readyz
	drainTimeout     = 120 * time.Second // pending_events and pending_sessions reach 0
	offlineSimBound  = 150 * time.Second // chargesim of the offline scenario exits
	offlineDetect    = 20 * time.Second  // the edge notices the cloud is gone
	settleAfterKills = 5 * time.Second   // sessions keep flowing after the last restart
	cloudGrace       = 20 * time.Second  // SIGTERM → exit
	edgeGrace        = 15 * time.Second
	simGrace         = 10 * time.Second
	cardBalanceFen   = 1_000_000 // 10,000 yuan per card: no session is cut short by its wallet
)

// scenario is one run of the simulator with its own gateways and cards, so
// its rows in the cloud are told apart by charger id.
type scenario struct {
	name   string
	idBase uint64
	cards  []string
	log    string // chargesim -sessions-log
}

// harness holds one run's processes, addresses and database.
type harness struct {
	opt     options
	out     io.Writer
	started time.Time
	rng     *rand.Rand
	tenant  string
	edgeID  string
	tariff  flatTariff

	dir         string // temp dir: binaries, logs, the edge's store
	bin         string
	dbName      string
	dbURL       string
	redisPrefix string
	httpAddr    string // cloud API
	brokerAddr  string // the cloud's embedded MQTT broker
	chargerAddr string // the edge's charger listener
	adminAddr   string // the edge's admin endpoint
	credential  string
	scenarios   []scenario

	procs procs
	cloud *proc
	edge  *proc
	logs  []string // every child log, for tails on failure
}

// say prints one progress line with the time since the start.
func (h *harness) say(format string, args ...any) {
	fmt.Fprintf(h.out, "[%6.1fs] %s\n", time.Since(h.started).Seconds(), fmt.Sprintf(format, args...))
}

// run sets up and runs both scenarios, returning the summed comparison and
// every error met. A scenario that fails after its simulator ran is still
// compared, so its counters show what the failure cost.
func (h *harness) run(ctx context.Context) (result, []error) {
	var total result
	if err := h.setup(ctx); err != nil {
		return total, []error{err}
	}
	var errs []error
	for _, s := range []struct {
		sc  scenario
		run func(context.Context, scenario) error
	}{{h.scenarios[0], h.offline}, {h.scenarios[1], h.crash}} {
		h.say("%s: scenario starts", s.sc.name)
		runErr := s.run(ctx, s.sc)
		if runErr != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.sc.name, runErr))
		}
		// Compared even after a timeout or Ctrl-C: what the cloud has then
		// is the point of the run.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		r, err := h.check(cctx, s.sc)
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: compare: %w", s.sc.name, err))
			break
		}
		fmt.Fprintf(h.out, "chaos[%s]: %s unacked_in_cloud=%d offline_flagged=%d\n", s.sc.name, r.line(), r.UnackedInCloud, r.OfflineFlagged)
		for i, p := range r.Problems {
			if i == 20 {
				fmt.Fprintf(h.out, "  … and %d more\n", len(r.Problems)-i)
				break
			}
			fmt.Fprintf(h.out, "  %s\n", p)
		}
		total.add(r)
		if ctx.Err() != nil {
			break
		}
	}
	return total, errs
}

// setup checks the services, builds, creates the database, starts the
// cloud, provisions the edge and starts it.
func (h *harness) setup(ctx context.Context) error {
	if err := checkService("PostgreSQL", h.opt.postgresAdmin,
		"pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"); err != nil {
		return err
	}
	if err := checkService("Redis", h.opt.redisURL,
		"redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no"); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "chargechaos-")
	if err != nil {
		return fmt.Errorf("temp dir: %w", err)
	}
	h.dir = dir
	h.say("work dir %s", dir)

	h.bin = h.opt.binDir
	if h.bin == "" {
		h.bin = filepath.Join(dir, "bin")
		h.say("building chargeplane-cloud, chargeplane-edge, chargesim")
		if err := build(ctx, h.opt.repo, h.bin); err != nil {
			return err
		}
	}

	addrs := make([]string, 4)
	for i := range addrs {
		if addrs[i], err = freeAddr(); err != nil {
			return err
		}
	}
	h.httpAddr, h.brokerAddr, h.chargerAddr, h.adminAddr = addrs[0], addrs[1], addrs[2], addrs[3]

	unix := time.Now().Unix()
	h.dbName = fmt.Sprintf("chaos_%d", unix)
	if h.dbURL, err = databaseURL(h.opt.postgresAdmin, h.dbName); err != nil {
		return err
	}
	h.redisPrefix = fmt.Sprintf("chaos-%d:", unix)
	h.say("database %s, redis prefix %q", h.dbName, h.redisPrefix)
	if _, err := h.cloudCLI(ctx, "migrate", "-create-db"); err != nil {
		return fmt.Errorf("create and migrate the database: %w", err)
	}

	h.cloud = h.procs.add(&proc{
		name: "cloud", path: filepath.Join(h.bin, "chargeplane-cloud"), args: []string{"serve"},
		env:     append(h.cloudEnv(), "CHARGEPLANE_CLOUD_BROKER_EMBEDDED_ADDR="+h.brokerAddr),
		logPath: h.logFile("cloud"),
	})
	if err := h.startCloud(ctx); err != nil {
		return err
	}

	out, err := h.cloudCLI(ctx, "edge", "create", "-tenant", h.tenant, "-edge", h.edgeID, "-name", "chaos site")
	if err != nil {
		return fmt.Errorf("provision the edge: %w", err)
	}
	for _, line := range strings.Split(out, "\n") {
		if c, ok := strings.CutPrefix(strings.TrimSpace(line), "credential: "); ok {
			h.credential = strings.TrimSpace(c)
		}
	}
	if h.credential == "" {
		return fmt.Errorf("provision the edge: `edge create` printed no \"credential: …\" line:\n%s", out)
	}
	if _, err := h.cloudCLI(ctx, "tariff", "set", "-edge", h.edgeID, "-electricity", "0.6523", "-service", "0.40"); err != nil {
		return fmt.Errorf("set the tariff: %w", err)
	}
	// Every card before the edge starts: its first config pull has them
	// all, with no dependence on config-changed hints.
	h.scenarios = []scenario{
		{name: "offline", idBase: 10_000, cards: []string{"0ff100000001", "0ff100000002", "0ff100000003", "0ff100000004"}},
		{name: "crash", idBase: 20_000, cards: []string{"c7a500000001", "c7a500000002", "c7a500000003", "c7a500000004"}},
	}
	for i := range h.scenarios {
		h.scenarios[i].log = filepath.Join(dir, "sessions-"+h.scenarios[i].name+".jsonl")
		if err := h.provisionCards(ctx, h.scenarios[i].cards); err != nil {
			return err
		}
	}
	h.say("provisioned edge %s, tariff 0.6523 + 0.40 yuan/kWh, %d cards of %d fen", h.edgeID, 4*len(h.scenarios), cardBalanceFen)

	h.edge = h.procs.add(&proc{
		name: "edge", path: filepath.Join(h.bin, "chargeplane-edge"),
		args: []string{"-listen", h.chargerAddr, "-admin", h.adminAddr, "-store", filepath.Join(dir, "edge-store")},
		env: []string{
			"CHARGEPLANE_EDGE_TENANT_ID=" + h.tenant,
			"CHARGEPLANE_EDGE_EDGE_ID=" + h.edgeID,
			"CHARGEPLANE_EDGE_UPLINK_MQTT_URL=tcp://" + h.brokerAddr,
			"CHARGEPLANE_EDGE_UPLINK_CLOUD_URL=http://" + h.httpAddr,
			"CHARGEPLANE_EDGE_UPLINK_CREDENTIAL=" + h.credential,
			"CHARGEPLANE_EDGE_UPLINK_CLIENT_ID=chaos-edge-" + strconv.FormatInt(unix, 10),
			// Back on line within seconds of the cloud's return.
			"CHARGEPLANE_EDGE_UPLINK_RETRY_MIN=200ms",
			"CHARGEPLANE_EDGE_UPLINK_RETRY_MAX=2s",
			"CHARGEPLANE_EDGE_GATEWAY_SHUTDOWN_TIMEOUT=2s",
			"CHARGEPLANE_EDGE_LOG_LEVEL=info",
		},
		logPath: h.logFile("edge"),
	})
	return h.startEdge(ctx)
}

// cloudEnv configures every chargeplane-cloud invocation through the
// environment (flags show in ps; every subcommand reads the same keys).
func (h *harness) cloudEnv() []string {
	return []string{
		"CHARGEPLANE_CLOUD_POSTGRES_URL=" + h.dbURL,
		"CHARGEPLANE_CLOUD_REDIS_URL=" + h.opt.redisURL,
		"CHARGEPLANE_CLOUD_REDIS_PREFIX=" + h.redisPrefix,
		"CHARGEPLANE_CLOUD_MQTT_URL=tcp://" + h.brokerAddr,
		"CHARGEPLANE_CLOUD_MQTT_CLIENT_ID=chaos-cloud-" + strings.TrimSuffix(strings.TrimPrefix(h.redisPrefix, "chaos-"), ":"),
		"CHARGEPLANE_CLOUD_HTTP_ADDR=" + h.httpAddr,
		"CHARGEPLANE_CLOUD_SHUTDOWN_TIMEOUT=5s",
	}
}

// cloudCLI runs one chargeplane-cloud subcommand to completion.
func (h *harness) cloudCLI(ctx context.Context, args ...string) (string, error) {
	return runCommand(ctx, 60*time.Second, h.dir, h.cloudEnv(), filepath.Join(h.bin, "chargeplane-cloud"), args...)
}

func (h *harness) logFile(name string) string {
	p := filepath.Join(h.dir, name+".log")
	h.logs = append(h.logs, p)
	return p
}

// provisionCards gives each card its balance in the cloud.
func (h *harness) provisionCards(ctx context.Context, cards []string) error {
	for _, c := range cards {
		if _, err := h.cloudCLI(ctx, "card", "put", "-tenant", h.tenant, "-card", c, "-balance-fen", strconv.Itoa(cardBalanceFen)); err != nil {
			return fmt.Errorf("provision card %s: %w", c, err)
		}
	}
	return nil
}

func (h *harness) startCloud(ctx context.Context) error {
	if err := h.cloud.start(); err != nil {
		return err
	}
	if err := h.waitReady(ctx, h.cloud, "http://"+h.httpAddr+"/readyz"); err != nil {
		return err
	}
	h.say("cloud ready on %s (broker %s)", h.httpAddr, h.brokerAddr)
	return nil
}

func (h *harness) startEdge(ctx context.Context) error {
	if err := h.edge.start(); err != nil {
		return err
	}
	return h.waitReady(ctx, h.edge, "http://"+h.adminAddr+"/readyz")
}

// waitReady waits for url to answer 200 while p runs.
func (h *harness) waitReady(ctx context.Context, p *proc, url string) error {
	return waitUntil(ctx, readyTimeout, p.name+" ready", func(ctx context.Context) (bool, string, error) {
		if !p.running() {
			return false, "", fmt.Errorf("%s exited: %w (see %s)", p.name, p.exitErr(), p.logPath)
		}
		code, err := httpGet(ctx, url, nil)
		if err != nil {
			return false, err.Error(), nil
		}
		return code == http.StatusOK, fmt.Sprintf("HTTP %d", code), nil
	})
}

// edgeStatus is the part of the edge's /status the harness reads.
type edgeStatus struct {
	PendingEvents   *int64 `json:"pending_events"`
	PendingSessions *int64 `json:"pending_sessions"`
	ConfigVersion   *int64 `json:"config_version"`
	MQTTConnected   *bool  `json:"mqtt_connected"`
	LastSeq         *int64 `json:"last_seq"`
}

func (s edgeStatus) String() string {
	f := func(v *int64) string {
		if v == nil {
			return "absent"
		}
		return strconv.FormatInt(*v, 10)
	}
	conn := "absent"
	if s.MQTTConnected != nil {
		conn = strconv.FormatBool(*s.MQTTConnected)
	}
	return fmt.Sprintf("pending_events=%s pending_sessions=%s config_version=%s mqtt_connected=%s last_seq=%s",
		f(s.PendingEvents), f(s.PendingSessions), f(s.ConfigVersion), conn, f(s.LastSeq))
}

func (h *harness) edgeStatus(ctx context.Context) (edgeStatus, error) {
	var s edgeStatus
	code, err := httpGet(ctx, "http://"+h.adminAddr+"/status", &s)
	if err == nil && code != http.StatusOK {
		err = fmt.Errorf("edge /status: HTTP %d", code)
	}
	return s, err
}

// waitEdgeConfig waits until the edge holds the cloud's current site config
// (tariff and cards): the offline scenario is meaningless without it.
func (h *harness) waitEdgeConfig(ctx context.Context) error {
	want, err := h.cloudConfigVersion(ctx)
	if err != nil {
		return err
	}
	return waitUntil(ctx, readyTimeout, fmt.Sprintf("edge pulled config version %d", want), func(ctx context.Context) (bool, string, error) {
		s, err := h.edgeStatus(ctx)
		if err != nil {
			return false, err.Error(), nil
		}
		if s.ConfigVersion == nil {
			return false, "", errors.New("edge /status has no config_version: the integrator has not wired it (edge/agent status())")
		}
		return *s.ConfigVersion >= want, s.String(), nil
	})
}

// waitDrained waits until the edge has nothing left for the cloud.
func (h *harness) waitDrained(ctx context.Context) error {
	return waitUntil(ctx, drainTimeout, "edge drained (pending_events=0 pending_sessions=0)", func(ctx context.Context) (bool, string, error) {
		if !h.edge.running() {
			return false, "", fmt.Errorf("edge exited: %w", h.edge.exitErr())
		}
		s, err := h.edgeStatus(ctx)
		if err != nil {
			return false, err.Error(), nil
		}
		if s.PendingEvents == nil || s.PendingSessions == nil {
			return false, "", fmt.Errorf("edge /status lacks pending_events or pending_sessions (%s): the integrator has not wired them", s)
		}
		return *s.PendingEvents == 0 && *s.PendingSessions == 0, s.String(), nil
	})
}

// startSim runs chargesim for scenario sc: pre-paired BKV gateways with
// four sockets each, swiping the scenario's cards, sessions of a few
// simulated minutes to a few hours compressed 6000-fold.
func (h *harness) startSim(sc scenario, extra ...string) (*proc, error) {
	args := []string{
		"-protocol", "bkv", "-chargers", strconv.Itoa(h.opt.chargers), "-addr", h.chargerAddr,
		"-id-base", strconv.FormatUint(sc.idBase, 10), "-heartbeat", "10s", "-ramp", "500ms", "-reply-timeout", "5s",
		"-sessions", "-paired", "-outlets", "4", "-cards", strings.Join(sc.cards, ","),
		"-speed", "6000", "-unplug-chance", "0.05", "-retransmit", "1s",
		"-sessions-log", sc.log, "-report", "0", "-log-level", "warn",
	}
	p := h.procs.add(&proc{
		name: "chargesim-" + sc.name, path: filepath.Join(h.bin, "chargesim"), args: append(args, extra...),
		logPath: h.logFile("chargesim-" + sc.name),
	})
	return p, p.start()
}

// offline: the cloud goes away, the site keeps charging, the cloud comes
// back and receives everything.
func (h *harness) offline(ctx context.Context, sc scenario) error {
	if err := h.waitEdgeConfig(ctx); err != nil {
		return err
	}
	h.say("offline: edge holds the site config; stopping the cloud (SIGTERM)")
	if err := h.cloud.stop(cloudGrace); err != nil {
		return err
	}
	err := waitUntil(ctx, offlineDetect, "edge notices the cloud is gone (mqtt_connected=false)", func(ctx context.Context) (bool, string, error) {
		s, err := h.edgeStatus(ctx)
		if err != nil {
			return false, err.Error(), nil
		}
		return s.MQTTConnected != nil && !*s.MQTTConnected, s.String(), nil
	})
	if err != nil {
		return err
	}
	h.say("offline: edge is offline; chargesim runs until %d sessions are acknowledged", h.opt.offlineTarget)
	simProc, err := h.startSim(sc, "-card-every", "100ms", "-status-every", "2s",
		"-stop-after-sessions", strconv.Itoa(h.opt.offlineTarget), "-duration", (offlineSimBound - 10*time.Second).String())
	if err != nil {
		return err
	}
	simErr := simProc.wait(ctx, offlineSimBound)
	if simErr != nil {
		_ = simProc.stop(simGrace)
		simErr = fmt.Errorf("chargesim: %w", simErr)
	}
	var errs []error
	if simErr != nil {
		errs = append(errs, simErr)
	}
	acked, err := readSessions(sc.log)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	n := distinct(acked)
	if n < h.opt.offlineMin {
		errs = append(errs, fmt.Errorf("only %d sessions were acknowledged while offline, want at least %d (see %s)", n, h.opt.offlineMin, simProc.logPath))
	}
	if s, err := h.edgeStatus(ctx); err == nil {
		h.say("offline: %d sessions acknowledged by the edge while offline; edge %s", n, s)
	}
	h.say("offline: restarting the cloud")
	if err := h.startCloud(ctx); err != nil {
		return errors.Join(append(errs, err)...)
	}
	if err := h.waitDrained(ctx); err != nil {
		return errors.Join(append(errs, err)...)
	}
	h.say("offline: edge drained")
	return errors.Join(errs...)
}

// crash: the edge is killed with SIGKILL at random moments under load and
// restarted on the same store.
func (h *harness) crash(ctx context.Context, sc scenario) error {
	// The offline scenario may have failed half-way: start from a running
	// cloud and edge whatever it left.
	if !h.cloud.running() {
		if err := h.startCloud(ctx); err != nil {
			return err
		}
	}
	if !h.edge.running() {
		h.say("crash: the edge is not running (%v); starting it", h.edge.exitErr())
		if err := h.startEdge(ctx); err != nil {
			return err
		}
	}
	simProc, err := h.startSim(sc, "-card-every", "150ms", "-status-every", "200ms", "-duration", "150s")
	if err != nil {
		return err
	}
	for k := 1; k <= h.opt.kills; k++ {
		gap := h.opt.killMin + time.Duration(h.rng.Int64N(int64(h.opt.killMax-h.opt.killMin)+1))
		if !sleep(ctx, gap) {
			return ctx.Err()
		}
		if !h.edge.running() {
			return fmt.Errorf("edge exited by itself before kill %d: %w", k, h.edge.exitErr())
		}
		if !simProc.running() {
			return fmt.Errorf("chargesim exited before kill %d: %w", k, simProc.exitErr())
		}
		st, _ := h.edgeStatus(ctx)
		h.edge.kill()
		h.say("crash: kill -9 #%d after %.1fs: %d sessions acknowledged so far; edge was at %s",
			k, gap.Seconds(), countLines(sc.log), st)
		if err := h.startEdge(ctx); err != nil {
			return fmt.Errorf("restart after kill %d: %w", k, err)
		}
	}
	// Sessions must flow again after the last restart (the gateways
	// reconnected and their repeated end reports were answered).
	before := countLines(sc.log)
	if !sleep(ctx, settleAfterKills) {
		return ctx.Err()
	}
	err = waitUntil(ctx, 30*time.Second, "sessions acknowledged after the last restart", func(context.Context) (bool, string, error) {
		n := countLines(sc.log)
		return n > before, fmt.Sprintf("%d acknowledged, %d at the last restart", n, before), nil
	})
	if err != nil {
		return err
	}
	h.say("crash: %d sessions acknowledged; stopping chargesim", countLines(sc.log))
	if err := simProc.stop(simGrace); err != nil {
		return err
	}
	if err := h.waitDrained(ctx); err != nil {
		return err
	}
	h.say("crash: edge drained")
	return nil
}

// check compares scenario sc's log with the cloud.
func (h *harness) check(ctx context.Context, sc scenario) (result, error) {
	acked, err := readSessions(sc.log)
	if err != nil {
		return result{}, err
	}
	chargers := make(map[string]bool, h.opt.chargers)
	for i := range h.opt.chargers {
		chargers[sim.ChargerID("bkv", sc.idBase, i)] = true
	}
	rows, cards, err := h.cloudRecords(ctx, chargers, sc.cards, cardBalanceFen)
	if err != nil {
		return result{}, err
	}
	return compare(acked, rows, cards, h.tariff), nil
}

func readSessions(path string) ([]sim.Session, error) {
	f, err := os.Open(path) //nolint:gosec // the harness's own file
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sessions log: %w", err)
	}
	defer func() { _ = f.Close() }()
	return sim.ReadSessionLog(f)
}

// printLogTails shows the end of every child log.
func (h *harness) printLogTails(w io.Writer) {
	for _, p := range h.logs {
		t := tail(p, 30)
		if t == "" {
			continue
		}
		fmt.Fprintf(w, "---- last 30 lines of %s ----\n%s\n", p, t)
	}
}

// cleanup stops every child and removes what the run created; a failed run
// keeps its temp dir (logs, the edge's store) for a closer look.
func (h *harness) cleanup(failed bool) {
	h.procs.stopAll(edgeGrace)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if h.opt.keep {
		h.say("kept database %s and %s", h.dbName, h.dir)
		return
	}
	if h.dbName != "" {
		if err := dropDatabase(ctx, h.opt.postgresAdmin, h.dbName); err != nil {
			h.say("drop database %s: %v", h.dbName, err)
		}
	}
	if h.redisPrefix != "" {
		if err := deleteRedisKeys(ctx, h.opt.redisURL, h.redisPrefix); err != nil {
			h.say("delete redis keys %s*: %v", h.redisPrefix, err)
		}
	}
	if h.dir == "" {
		return
	}
	if failed {
		h.say("logs and the edge's store kept in %s", h.dir)
		return
	}
	if err := os.RemoveAll(h.dir); err != nil {
		h.say("remove %s: %v", h.dir, err)
	}
}

// waitUntil polls cond until it is done, fails, or timeout passes; the
// timeout error carries cond's last description of the state.
func waitUntil(ctx context.Context, timeout time.Duration, what string, cond func(context.Context) (bool, string, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := ""
	for {
		done, state, err := cond(ctx)
		if err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		if done {
			return nil
		}
		last = state
		if !sleep(ctx, 200*time.Millisecond) {
			return fmt.Errorf("waiting for %s: gave up after %s (last: %s): %w", what, timeout, last, ctx.Err())
		}
	}
}

// sleep waits d unless ctx ends first; false if it did.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// httpGet fetches url; with into, decodes the JSON body into it.
func httpGet(ctx context.Context, url string, into any) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, fmt.Errorf("request %s: %w", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("get %s: %w", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if into != nil && resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
			return resp.StatusCode, fmt.Errorf("decode %s: %w", url, err)
		}
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// freeAddr returns a loopback address nothing listens on now. The children
// must keep their addresses across restarts (the simulator redials the
// edge, the edge the broker), so the harness picks them up front; another
// process could take one in between, which on loopback in a test run is
// rare and shows as a clear listen error in the child's log.
func freeAddr() (string, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	return addr, nil
}

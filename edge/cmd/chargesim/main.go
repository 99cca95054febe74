// Command chargesim simulates charging stations: it opens one connection per
// simulated charger to an edge agent, speaks the charger protocol and prints
// how the edge answered (frames sent and answered, reply latency p50/p99,
// errors). It is both the demo's fleet and the load generator.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"connectrpc.com/connect"

	"github.com/chargeplane/chargeplane/edge/sim"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1/chargeplanev1connect"
	"github.com/chargeplane/chargeplane/shared/logging"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// cloudOnline asks the cloud how many of the tenant's chargers are online,
// authenticating with token (a session token or API key) when not empty.
func cloudOnline(ctx context.Context, baseURL, token, tenant string) string {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	client := chargeplanev1connect.NewChargerServiceClient(http.DefaultClient, baseURL, connect.WithProtoJSON())
	req := connect.NewRequest(&chargeplanev1.ListChargersRequest{TenantId: tenant, PageSize: 1})
	if token != "" {
		req.Header().Set("Authorization", "Bearer "+token)
	}
	resp, err := client.ListChargers(ctx, req)
	if err != nil {
		return "? (" + err.Error() + ")"
	}
	return strconv.Itoa(int(resp.Msg.GetOnlineCount()))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("chargesim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := sim.Config{}
	fs.StringVar(&cfg.Protocol, "protocol", "bkv", "charger protocol: bkv or ap3000")
	fs.IntVar(&cfg.Chargers, "chargers", 1, "number of simulated chargers (one connection each)")
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:8600", "edge agent charger address host:port")
	fs.DurationVar(&cfg.Heartbeat, "heartbeat", time.Minute, "heartbeat interval per charger (BKV default 1m)")
	fs.DurationVar(&cfg.Ramp, "ramp", time.Second, "spread the connects over this long")
	fs.Uint64Var(&cfg.IDBase, "id-base", 0, "offset for generated charger ids (run several fleets without collisions)")
	fs.DurationVar(&cfg.ReplyTimeout, "reply-timeout", 10*time.Second, "write/reply timeout")
	sessions := fs.Bool("sessions", false, "simulate charging: status reports, card swipes, sessions and end reports "+
		"(BKV sockets stay silent until the platform pairs them)")
	outlets := fs.Int("outlets", 0, "BKV: sockets per gateway (2 ports each, default 4); AP3000: ports per device (default 2)")
	cardEvery := fs.Duration("card-every", 0, "with -sessions: mean time between card swipes per charger (0: none)")
	speed := fs.Float64("speed", 1, "with -sessions: simulated seconds per real second (3600 runs an hour-long charge in a second)")
	unplug := fs.Float64("unplug-chance", 0, "with -sessions: probability a session ends by unplugging before its limit")
	statusEvery := fs.Duration("status-every", 0, "with -sessions: BKV status report interval (default 5m, and on every change)")
	paired := fs.Bool("paired", false, "with -sessions: BKV sockets start paired (socket numbers 1..outlets), as if the platform had paired them before")
	cards := fs.String("cards", "", "with -sessions: BKV card numbers (12 hex digits, comma-separated) swiped in turn (default 000000000001)")
	retransmit := fs.Duration("retransmit", 0, "with -sessions: BKV repeat interval of unacknowledged end reports (default 11s)")
	sessionsLog := fs.String("sessions-log", "", "with -sessions: append one JSON line per session whose end report the edge acknowledged to this file")
	stopAfter := fs.Int("stop-after-sessions", 0, "with -sessions: exit once this many sessions were acknowledged (0: no limit)")
	duration := fs.Duration("duration", 0, "stop after this long (0: run until interrupted)")
	every := fs.Duration("report", 10*time.Second, "print progress this often (0: only the final summary)")
	logLevel := fs.String("log-level", "warn", "debug, info, warn or error")
	cloudURL := fs.String("cloud", "", "cloud API base URL: with each report, print how many chargers the cloud sees online")
	tenant := fs.String("tenant", "", "tenant to count online chargers of (with -cloud)")
	tokenFile := fs.String("cloud-token-file", "", "`file` holding the bearer token (session token or API key) for -cloud")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cloudToken := ""
	if *tokenFile != "" {
		raw, err := os.ReadFile(*tokenFile)
		if err != nil {
			fmt.Fprintf(stderr, "chargesim: -cloud-token-file: %v\n", err)
			return 2
		}
		cloudToken = strings.TrimSpace(string(raw))
	}
	if !*sessions && (*sessionsLog != "" || *stopAfter > 0) {
		fmt.Fprintf(stderr, "chargesim: -sessions-log and -stop-after-sessions need -sessions\n")
		return 2
	}
	if *stopAfter < 0 {
		fmt.Fprintf(stderr, "chargesim: -stop-after-sessions must not be negative\n")
		return 2
	}
	if *sessions {
		if *speed <= 0 {
			fmt.Fprintf(stderr, "chargesim: -speed must be positive\n")
			return 2
		}
		cfg.BKV = sim.BKVOptions{Sessions: true, Paired: *paired, Sockets: *outlets, CardEvery: *cardEvery, StatusEvery: *statusEvery,
			Minute: time.Duration(float64(time.Minute) / *speed), UnplugChance: *unplug, Retransmit: *retransmit}
		if *cards != "" {
			cfg.BKV.Cards = strings.Split(*cards, ",")
		}
		cfg.AP3000 = sim.AP3000Options{Sessions: true, Ports: *outlets, CardRate: *cardEvery, Speed: *speed, UnplugChance: *unplug}
	}
	logger, err := logging.New(logging.Config{Level: *logLevel, Format: "text"}, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "chargesim: %v\n", err)
		return 2
	}
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	ctx, stopSessions := context.WithCancel(ctx)
	defer stopSessions()
	var acked atomic.Int64
	var sessLog *sim.SessionLog
	if *sessionsLog != "" {
		// Unbuffered and appended: each line reaches the file as the edge
		// acknowledges its session, whatever happens to this process later.
		f, err := os.OpenFile(*sessionsLog, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644) //nolint:gosec // path given by the operator
		if err != nil {
			fmt.Fprintf(stderr, "chargesim: %v\n", err)
			return 2
		}
		defer func() { _ = f.Close() }()
		sessLog = sim.NewSessionLog(f)
	}
	cfg.OnSession = func(s sim.Session) {
		if sessLog != nil {
			sessLog.Record(s)
		}
		if n := acked.Add(1); *stopAfter > 0 && n >= int64(*stopAfter) {
			stopSessions()
		}
	}
	fleet, err := sim.New(cfg, logger)
	if err != nil {
		fmt.Fprintf(stderr, "chargesim: %v\n", err)
		return 2
	}
	fmt.Fprintf(stdout, "chargesim: %d %s chargers → %s (heartbeat %s)\n", cfg.Chargers, cfg.Protocol, cfg.Addr, cfg.Heartbeat)
	done := make(chan sim.Summary, 1)
	go func() { done <- fleet.Run(ctx) }()
	var tick <-chan time.Time
	if *every > 0 {
		t := time.NewTicker(*every)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case s := <-done:
			fmt.Fprintf(stdout, "chargesim: summary %s\n", s)
			if *sessions {
				fmt.Fprintf(stdout, "chargesim: sessions acknowledged=%d\n", acked.Load())
			}
			if sessLog != nil && sessLog.Err() != nil {
				fmt.Fprintf(stderr, "chargesim: %v\n", sessLog.Err())
				return 1
			}
			if s.Sent > 0 && s.Answered == 0 {
				return 1
			}
			return 0
		case <-tick:
			if *cloudURL == "" {
				fmt.Fprintf(stdout, "chargesim: %s\n", fleet.Summary())
				continue
			}
			fmt.Fprintf(stdout, "%s online: %s/%d\n", time.Now().Format("15:04:05"), cloudOnline(ctx, *cloudURL, cloudToken, *tenant), cfg.Chargers)
		}
	}
}

package command_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/chargeplane/chargeplane/cloud/command"
	"github.com/chargeplane/chargeplane/cloud/fleet"
	"github.com/chargeplane/chargeplane/cloud/ingest"
	"github.com/chargeplane/chargeplane/cloud/live"
	"github.com/chargeplane/chargeplane/cloud/postgres/pgtest"
	"github.com/chargeplane/chargeplane/cloud/presence"
	"github.com/chargeplane/chargeplane/cloud/presence/presencetest"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"github.com/chargeplane/chargeplane/shared/mqtttest"
	"github.com/chargeplane/chargeplane/shared/topic"
)

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func randomID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// env is one test's cloud side of remote control on the real services.
type env struct {
	pool   *pgxpool.Pool
	rdb    *redis.Client
	prefix string
	root   string
	space  topic.Space
	hub    *live.Hub
	store  *command.Store
	svc    *command.Service
	clock  *clock
}

// run runs fn until the test ends.
func run(tb testing.TB, fn func(context.Context) error) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := fn(ctx); err != nil {
			tb.Errorf("run: %v", err)
		}
	}()
	tb.Cleanup(func() {
		cancel()
		<-done
	})
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// newEnv builds the command service on the real Postgres, Redis and broker
// (brokerURL), under a topic root of its own.
func newEnv(t *testing.T, brokerURL string) *env {
	t.Helper()
	e := &env{clock: &clock{t: time.Now()}}
	e.pool = pgtest.MustPool(t, pgtest.MustDB(t))
	rdb, prefix := presencetest.MustRedis(t)
	e.rdb, e.prefix = rdb, prefix
	e.root = "cptest/" + randomID()
	var err error
	if e.space, err = topic.New(e.root); err != nil {
		t.Fatal(err)
	}
	if e.hub, err = live.NewHub(rdb, live.Config{Prefix: prefix, Buffer: 64}, discard(), prometheus.NewRegistry()); err != nil {
		t.Fatal(err)
	}
	run(t, e.hub.Run)
	sender, err := command.NewSender(command.SenderConfig{
		URL: brokerURL, ClientID: "cmdtest-" + randomID(), TopicRoot: e.root, Timeout: 5 * time.Second,
	}, discard())
	if err != nil {
		t.Fatal(err)
	}
	if brokerURL == mqtttest.URL() {
		mqtttest.MustReach(t, brokerURL)
		run(t, sender.Run)
		waitFor(t, "the sender to connect", sender.Connected)
	}
	e.store = command.NewStore(e.pool)
	e.svc, err = command.NewService(command.DefaultConfig(), e.store, sender, e.hub, e.clock.now, discard(), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) get(t *testing.T, id string) command.Command {
	t.Helper()
	c, err := e.svc.Get(t.Context(), "t1", id)
	if err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
	return c
}

func startRequest() command.Request {
	return command.Request{
		TenantID: "t1", EdgeID: "e1", ChargerID: "c1", Connector: 2, Kind: command.KindStart,
		Params: map[string]string{command.ParamCardID: "card-1"}, Limit: &chargeplanev1.Limit{Kind: &chargeplanev1.Limit_EnergyMwh{EnergyMwh: 5000}},
		RequestedBy: "user:u1",
	}
}

// TestCommandRoundTrip: a command is published to its edge's topic as the
// edge decodes it, the edge's CommandResult comes back through ingest, and
// the command ends accepted, with watchers told at every step.
func TestCommandRoundTrip(t *testing.T) {
	t.Parallel()
	e := newEnv(t, mqtttest.URL())
	ctx := t.Context()

	// The edge's side: its down/commands topic.
	edge := mqtttest.MustConnect(t, mqtttest.URL(), "edge-"+randomID())
	got := make(chan []byte, 1)
	if err := mqtttest.Wait(edge.Subscribe(e.space.Stream("t1", "e1", topic.Down, topic.KindCommands), 1, func(_ paho.Client, m paho.Message) {
		got <- m.Payload()
	})); err != nil {
		t.Fatal(err)
	}
	watch, err := e.hub.Subscribe(ctx, "t1", live.Filter{EdgeID: "e1"})
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()

	c, err := e.svc.Send(ctx, startRequest())
	if err != nil {
		t.Fatal(err)
	}
	if c.State != command.StateSent || c.SentAt.IsZero() || c.RequestedBy != "user:u1" || !strings.HasPrefix(c.ID, "cmd_") {
		t.Errorf("sent command = %+v, want state sent with sent_at, requested by user:u1", c)
	}
	if want := c.RequestedAt.Add(command.DefaultConfig().Expiry); !c.ExpiresAt.Equal(want) || !c.Deadline.After(c.ExpiresAt) {
		t.Errorf("expires_at %v, deadline %v: want expires_at %v and a later deadline", c.ExpiresAt, c.Deadline, want)
	}
	var msg chargeplanev1.ChargerCommand
	select {
	case p := <-got:
		if err := proto.Unmarshal(p, &msg); err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no command on the edge's topic")
	}
	want := &chargeplanev1.ChargerCommand{
		CommandId: c.ID, ChargerId: "c1", Kind: "start", Connector: 2,
		Limit:     &chargeplanev1.Limit{Kind: &chargeplanev1.Limit_EnergyMwh{EnergyMwh: 5000}},
		Params:    map[string]string{"card_id": "card-1"},
		ExpiresAt: timestamppb.New(c.ExpiresAt),
	}
	if diff := cmp.Diff(want, &msg, protocmp.Transform()); diff != "" {
		t.Errorf("message on the edge's topic (-want +got):\n%s", diff)
	}
	if u := nextCommand(t, watch); u.GetState() != chargeplanev1.CommandState_COMMAND_STATE_SENT {
		t.Errorf("first watched state = %v, want SENT", u.GetState())
	}

	// The edge's result, through ingest with the service as observer.
	startIngest(t, e)
	pub := mqtttest.MustConnect(t, mqtttest.URL(), "edgeup-"+randomID())
	result := &chargeplanev1.Event{
		EdgeId: "e1", Seq: 1, ChargerId: "c1", Connector: 2, Protocol: "bkv", OccurredAt: timestamppb.Now(),
		Kind: &chargeplanev1.Event_CommandResult{CommandResult: &chargeplanev1.CommandResult{
			CommandId: msg.GetCommandId(), Command: "start", Status: "accepted", Detail: "started", Values: map[string]string{"session_ref": "s1"},
		}},
	}
	b, err := proto.Marshal(&chargeplanev1.EventBatch{Events: []*chargeplanev1.Event{result}})
	if err != nil {
		t.Fatal(err)
	}
	mqtttest.MustPublish(t, pub, e.space.Stream("t1", "e1", topic.Up, topic.KindEvents), b, false)

	u := nextCommand(t, watch)
	if u.GetState() != chargeplanev1.CommandState_COMMAND_STATE_ACCEPTED || u.GetValues()["session_ref"] != "s1" {
		t.Errorf("watched update = %v, want ACCEPTED with session_ref s1", u)
	}
	done := e.get(t, c.ID)
	if done.State != command.StateAccepted || done.Detail != "started" || done.FinishedAt.IsZero() || done.Values["session_ref"] != "s1" {
		t.Errorf("stored command = %+v, want accepted with detail, values and finished_at", done)
	}
}

func nextCommand(t *testing.T, sub *live.Subscription) *chargeplanev1.Command {
	t.Helper()
	select {
	case u, ok := <-sub.Updates():
		if !ok {
			t.Fatalf("watch ended: %v", sub.Err())
		}
		if u.GetCommand() == nil {
			t.Fatalf("update %v is not a command", u)
		}
		return u.GetCommand()
	case <-time.After(10 * time.Second):
		t.Fatal("no command update within 10 s")
	}
	return nil
}

// startIngest runs an ingest consumer on e's topic root whose observer is
// the command service.
func startIngest(t *testing.T, e *env) {
	t.Helper()
	id := "cmdingest-" + randomID()
	c, err := ingest.New(ingest.Config{
		URL: mqtttest.URL(), ClientID: id, Group: "cloud", TopicRoot: e.root,
		BatchEvents: 100, BatchWait: 10 * time.Millisecond, QueueMessages: 10, DrainTimeout: time.Second,
	}, ingest.Deps{
		Fleet:      fleet.New(e.pool),
		Presence:   presence.New(e.rdb, presence.Config{Prefix: e.prefix, Timeout: time.Minute}, time.Now),
		Observers:  []ingest.Observer{{Name: "commands", Observe: e.svc.Observe}},
		Logger:     discard(),
		Registerer: prometheus.NewRegistry(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mqtttest.ForgetSession(t, mqtttest.URL(), id) })
	run(t, c.Run)
	waitFor(t, "ingest to subscribe", c.Connected)
}

// TestFinalStateIsNeverOverwritten: once a command is final, later
// results, the sweeper and the sender change nothing; a result for an
// unknown id or from another edge is reported unknown.
func TestFinalStateIsNeverOverwritten(t *testing.T) {
	t.Parallel()
	e := newEnv(t, mqtttest.URL())
	ctx := t.Context()
	c, err := e.svc.Send(ctx, startRequest())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	res := func(id, edge, status string) command.Result {
		return command.Result{TenantID: "t1", EdgeID: edge, CommandID: id, Status: status, Detail: status, At: now}
	}
	// Two results in one batch: the first counts.
	finished, unknown, err := e.store.ApplyResults(ctx, []command.Result{
		res(c.ID, "e1", "rejected"), res(c.ID, "e1", "accepted"), res("cmd_nope", "e1", "accepted"), res(c.ID, "e2", "accepted"),
	}, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(finished) != 1 || finished[0].State != command.StateRejected {
		t.Errorf("finished = %+v, want the command rejected", finished)
	}
	if diff := cmp.Diff([]string{"cmd_nope"}, unknown); diff != "" {
		t.Errorf("unknown (-want +got):\n%s", diff)
	}
	// A later result, a replay, and a sweep far in the future.
	finished, unknown, err = e.store.ApplyResults(ctx, []command.Result{res(c.ID, "e1", "accepted")}, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(finished) != 0 || len(unknown) != 0 {
		t.Errorf("second result: finished %v, unknown %v; want neither", finished, unknown)
	}
	swept, err := e.store.Sweep(ctx, now.Add(24*time.Hour), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(swept) != 0 {
		t.Errorf("sweep ended %d final commands", len(swept))
	}
	if _, ok, err := e.store.MarkSent(ctx, c.ID, now); ok || err != nil {
		t.Errorf("MarkSent of a final command = %v, %v; want false, nil", ok, err)
	}
	if got := e.get(t, c.ID); got.State != command.StateRejected || got.Detail != "rejected" {
		t.Errorf("stored = %s %q, want rejected", got.State, got.Detail)
	}
	if _, err := e.svc.Get(ctx, "t2", c.ID); !errors.Is(err, command.ErrNotFound) {
		t.Errorf("Get from another tenant = %v, want ErrNotFound", err)
	}
}

// TestSweeperTimesOutUnansweredCommands: with no result by its deadline, a
// command becomes timed_out, and watchers are told.
func TestSweeperTimesOutUnansweredCommands(t *testing.T) {
	t.Parallel()
	e := newEnv(t, mqtttest.URL())
	ctx := t.Context()
	c, err := e.svc.Send(ctx, startRequest())
	if err != nil {
		t.Fatal(err)
	}
	watch, err := e.hub.Subscribe(ctx, "t1", live.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	run(t, command.NewSweeper(e.svc, 5*time.Millisecond, discard()).Run)
	// Before the deadline the sweeper leaves it alone: its next update is
	// the timeout, which comes only once the clock passes the deadline.
	e.clock.set(c.Deadline.Add(time.Second))
	u := nextCommand(t, watch)
	if u.GetState() != chargeplanev1.CommandState_COMMAND_STATE_TIMED_OUT || u.GetCommandId() != c.ID {
		t.Errorf("watched update = %v, want %s TIMED_OUT", u, c.ID)
	}
	if got := e.get(t, c.ID); got.State != command.StateTimedOut || got.Detail != command.TimedOutDetail || got.FinishedAt.IsZero() {
		t.Errorf("stored = %+v, want timed_out with detail and finished_at", got)
	}
}

// TestSendWithoutBrokerFails: a command the broker cannot take is stored
// failed, saying why.
func TestSendWithoutBrokerFails(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "tcp://127.0.0.1:1") // nothing listens on port 1
	c, err := e.svc.Send(t.Context(), startRequest())
	if err != nil {
		t.Fatal(err)
	}
	if c.State != command.StateFailed || !strings.Contains(c.Detail, "broker unavailable") || c.FinishedAt.IsZero() {
		t.Errorf("command = %+v, want failed, broker unavailable", c)
	}
	if got := e.get(t, c.ID); got.State != command.StateFailed {
		t.Errorf("stored state = %s, want failed", got.State)
	}
}

func TestListPagesNewestFirst(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "tcp://127.0.0.1:1")
	ctx := t.Context()
	base := time.Now().Truncate(time.Second)
	var ids []string
	for i, charger := range []string{"c1", "c2", "c1", "c1", "c2"} {
		e.clock.set(base.Add(time.Duration(i) * time.Second))
		r := startRequest()
		r.ChargerID = charger
		c, err := e.svc.Send(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	var got []string
	var after *command.Cursor
	for range 5 {
		cs, err := e.svc.List(ctx, command.Filter{TenantID: "t1", ChargerID: "c1"}, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			got = append(got, c.ID)
		}
		if len(cs) < 2 {
			break
		}
		after = &command.Cursor{RequestedAt: cs[len(cs)-1].RequestedAt, ID: cs[len(cs)-1].ID}
	}
	if diff := cmp.Diff([]string{ids[3], ids[2], ids[0]}, got); diff != "" {
		t.Errorf("c1's commands newest first (-want +got):\n%s", diff)
	}
	cs, err := e.svc.List(ctx, command.Filter{TenantID: "t1", From: base.Add(time.Second), To: base.Add(3 * time.Second)}, nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].ID != ids[2] || cs[1].ID != ids[1] {
		t.Errorf("commands in [1s, 3s) = %d, want ids 2 and 1", len(cs))
	}
	cs, err = e.svc.List(ctx, command.Filter{TenantID: "t2"}, nil, 10)
	if err != nil || len(cs) != 0 {
		t.Errorf("other tenant's list = %d commands, %v; want none", len(cs), err)
	}
}

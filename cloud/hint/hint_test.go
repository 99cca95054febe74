package hint_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/chargeplane/chargeplane/cloud/cloudtest"
	"github.com/chargeplane/chargeplane/cloud/hint"
	"github.com/chargeplane/chargeplane/cloud/site"
	"github.com/chargeplane/chargeplane/shared/mqtttest"
)

type message struct{ topic, payload string }

func randomID() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// subscribe listens to every config hint under root on the real broker.
func subscribe(t *testing.T, root string) <-chan message {
	t.Helper()
	out := make(chan message, 100)
	c := mqtttest.MustConnect(t, mqtttest.URL(), "hint-sub-"+randomID())
	if err := mqtttest.Wait(c.Subscribe(root+"/+/+/down/config", 1, func(_ paho.Client, m paho.Message) {
		out <- message{m.Topic(), string(m.Payload())}
	})); err != nil {
		t.Fatal(err)
	}
	return out
}

func next(t *testing.T, ch <-chan message) message {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(20 * time.Second):
		t.Fatal("no hint within 20s")
		return message{}
	}
}

// run starts p.Run and stops it when the test ends, checking it returns nil.
func run(t *testing.T, p *hint.Publisher) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run = %v, want nil", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
}

func newPublisher(t *testing.T, brokerURL, root string) (*hint.Publisher, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	p, err := hint.New(hint.Config{URL: brokerURL, ClientID: "hint-pub-" + randomID(), TopicRoot: root, Timeout: 5 * time.Second},
		slog.New(slog.NewTextHandler(io.Discard, nil)), reg)
	if err != nil {
		t.Fatal(err)
	}
	return p, reg
}

func change(v uint64, edges ...string) site.Change {
	ch := site.Change{Version: v}
	for _, e := range edges {
		tenant, edge, _ := strings.Cut(e, "/")
		ch.Edges = append(ch.Edges, site.Target{TenantID: tenant, EdgeID: edge})
	}
	return ch
}

func TestNotifySendsTheNewestVersionPerEdge(t *testing.T) {
	t.Parallel()
	root := "hinttest/" + randomID()
	got := subscribe(t, root)
	p, reg := newPublisher(t, mqtttest.URL(), root)
	// Queued before Run: e1's 5 is replaced by 7 before anything is sent.
	p.Notify(change(5, "t1/e1", "t1/e2"))
	p.Notify(change(7, "t1/e1"))
	p.Notify(change(6, "t1/e1")) // older than what is pending: ignored
	p.Notify(change(0, "t1/e1")) // no change
	run(t, p)

	seen := map[string]string{}
	for range 2 {
		m := next(t, got)
		seen[m.topic] = m.payload
	}
	want := map[string]string{root + "/t1/e1/down/config": "7", root + "/t1/e2/down/config": "5"}
	for topic, payload := range want {
		if seen[topic] != payload {
			t.Errorf("hints = %v, want %v", seen, want)
			break
		}
	}
	// The next hint of e1 is the next version: 5 was never sent.
	p.Notify(change(9, "t1/e1"))
	if m := next(t, got); m != (message{root + "/t1/e1/down/config", "9"}) {
		t.Errorf("next hint = %+v, want e1's 9", m)
	}
	deadline := time.Now().Add(10 * time.Second)
	for cloudtest.Gather(t, reg, "chargeplane_hint_published_total", "result", "ok") != 3 {
		if time.Now().After(deadline) {
			t.Fatalf("published ok = %v, want 3", cloudtest.Gather(t, reg, "chargeplane_hint_published_total", "result", "ok"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// proxy forwards TCP connections to a target until cut, so a test can take
// the broker away from one client only.
type proxy struct {
	t      *testing.T
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
	wg     sync.WaitGroup
}

func startProxy(t *testing.T, targetURL string) *proxy {
	t.Helper()
	u, err := url.Parse(targetURL)
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, target: u.Host, addr: "127.0.0.1:0"}
	p.listen()
	t.Cleanup(func() { p.cut(); p.wg.Wait() })
	return p
}

func (p *proxy) url() string { return "tcp://" + p.addr }

func (p *proxy) listen() {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatalf("proxy listen: %v", err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	p.wg.Go(func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", p.target)
			if err != nil {
				_ = in.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			p.wg.Go(func() { _, _ = io.Copy(out, in); _ = out.Close() })
			p.wg.Go(func() { _, _ = io.Copy(in, out); _ = in.Close() })
		}
	})
}

// cut stops accepting and drops every connection.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	_ = p.ln.Close()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

func TestHintsAreRetriedAfterTheBrokerComesBack(t *testing.T) {
	t.Parallel()
	root := "hinttest/" + randomID()
	got := subscribe(t, root)
	px := startProxy(t, mqtttest.URL())
	p, _ := newPublisher(t, px.url(), root)
	run(t, p)
	p.Notify(change(1, "t1/e1"))
	if m := next(t, got); m.payload != "1" {
		t.Fatalf("first hint = %+v", m)
	}

	px.cut()
	p.Notify(change(2, "t1/e1"))
	px.listen()
	if m := next(t, got); m.payload != "2" {
		t.Errorf("hint after the outage = %+v, want 2", m)
	}
}

func TestSend(t *testing.T) {
	t.Parallel()
	root := "hinttest/" + randomID()
	got := subscribe(t, root)
	cfg := hint.Config{URL: mqtttest.URL(), ClientID: "hint-send-" + randomID(), TopicRoot: root, Timeout: 5 * time.Second}
	if err := hint.Send(t.Context(), cfg, change(42, "t1/e1")); err != nil {
		t.Fatal(err)
	}
	if m := next(t, got); m != (message{root + "/t1/e1/down/config", "42"}) {
		t.Errorf("hint = %+v", m)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	_ = ln.Close() // nothing listens there now: connecting fails at once
	cfg.URL = "tcp://" + closed
	if err := hint.Send(t.Context(), cfg, change(43, "t1/e1")); err == nil || !strings.Contains(err.Error(), "connect to") {
		t.Errorf("Send to a closed port = %v, want a connect error", err)
	}
	if err := hint.Send(t.Context(), hint.Config{}, change(1, "t1/e1")); err == nil || !strings.Contains(err.Error(), "client id: required") {
		t.Errorf("Send without config = %v, want the missing keys named", err)
	}
}

package uplink

import (
	"crypto/tls"
	"strings"
	"testing"
)

// TestConnectCallsCarryCredentialOverTLS: against a cloud serving HTTPS with
// a certificate from a private CA, an uplink given that CA in tls_ca_file
// makes all three calls, each with "Authorization: Bearer <credential>";
// one without the CA file reaches no handler and is not online; one that
// skips verification gets through.
func TestConnectCallsCarryCredentialOverTLS(t *testing.T) {
	dir := t.TempDir()
	cert, caFile := selfSignedCert(t, dir)
	broker := startBroker(t, brokerOpts{})

	c := newCloud()
	c.config = siteConfig(3)
	url := c.serve(t, &cert)
	if !strings.HasPrefix(url, "https://") {
		t.Fatalf("cloud URL %q is not https", url)
	}
	st := openStore(t, t.TempDir(), true)
	appendAll(t, st, sessionEnded("tls-1", 500))
	cfg := testConfig(broker.url(), url)
	cfg.Credential = "edge-secret-1"
	cfg.TLSCAFile = caFile
	s := &sink{}
	u := startUplink(t, cfg, st, &ledger{st: st}, s, discard())
	waitFor(t, "handshake, session push and config pull over TLS", func() bool {
		var hs int
		c.get(func(c *cloud) { hs = c.handshakes })
		return hs >= 1 && st.PendingSessionCount() == 0 && s.ConfigVersion() == 3
	})
	waitFor(t, "online", u.Online)
	c.get(func(c *cloud) {
		if len(c.auth) < 3 {
			t.Errorf("%d calls recorded, want at least 3", len(c.auth))
		}
		for i, a := range c.auth {
			if a != "Bearer edge-secret-1" {
				t.Errorf("call %d: Authorization %q, want the bearer credential", i, a)
			}
		}
	})

	// Without the CA the certificate does not verify: no call gets through.
	other := newCloud()
	otherURL := other.serve(t, &cert)
	cfg = testConfig(broker.url(), otherURL)
	cfg.Credential = "edge-secret-1"
	u2 := startUplink(t, cfg, openStore(t, t.TempDir(), true), nil, nil, discard())
	waitFor(t, "a certificate error", func() bool { return strings.Contains(u2.Status().LastError, "certificate") })
	other.get(func(c *cloud) {
		if len(c.auth) != 0 {
			t.Errorf("%d calls reached a cloud whose certificate the edge cannot verify", len(c.auth))
		}
	})
	if u2.Online() {
		t.Error("Online() = true with an unverifiable cloud")
	}

	// tls_insecure_skip_verify (tests only) accepts the certificate unchecked.
	third := newCloud()
	cfg = testConfig(broker.url(), third.serve(t, &cert))
	cfg.TLSInsecureSkipVerify = true
	startUplink(t, cfg, openStore(t, t.TempDir(), true), nil, nil, discard())
	waitFor(t, "a handshake without verification", func() bool {
		var hs int
		third.get(func(c *cloud) { hs = c.handshakes })
		return hs >= 1
	})
}

// TestMQTTOverTLSWithCredentialLogin: a broker on TLS that accepts only
// the login (edge id, credential): the uplink, given the credential and the
// CA file but no username, connects and publishes.
func TestMQTTOverTLSWithCredentialLogin(t *testing.T) {
	cert, caFile := selfSignedCert(t, t.TempDir())
	broker := startBroker(t, brokerOpts{
		tls:   &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		login: &[2]string{testEdge, "edge-secret-2"},
	})
	if !strings.HasPrefix(broker.url(), "ssl://") {
		t.Fatalf("broker URL %q", broker.url())
	}
	st := openStore(t, t.TempDir(), true)
	appendHeartbeats(t, st, 10)
	cfg := testConfig(broker.url(), "http://127.0.0.1:1")
	cfg.Credential = "edge-secret-2"
	cfg.TLSCAFile = caFile
	u := startUplink(t, cfg, st, nil, nil, discard())
	waitFor(t, "events published over TLS", func() bool { return st.PendingCount() == 0 })
	if !u.Status().Connected {
		t.Error("status not connected")
	}
}

// TestMQTTWrongCredentialIsRefused: the same broker refuses another secret;
// the uplink keeps retrying and publishes nothing.
func TestMQTTWrongCredentialIsRefused(t *testing.T) {
	broker := startBroker(t, brokerOpts{login: &[2]string{testEdge, "right"}})
	st := openStore(t, t.TempDir(), true)
	appendHeartbeats(t, st, 10)
	cfg := testConfig(broker.url(), "http://127.0.0.1:1")
	cfg.Credential = "wrong"
	u := startUplink(t, cfg, st, nil, nil, discard())
	waitFor(t, "a refused connect", func() bool { return strings.Contains(u.Status().LastError, "not Authorized") })
	if st.PendingCount() != 10 || u.Status().Connected {
		t.Errorf("pending %d, connected %v: want nothing sent without a valid login", st.PendingCount(), u.Status().Connected)
	}
}

package uplink

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/chargeplane/chargeplane/shared/topic"
)

// Config holds the uplink settings (yaml "uplink").
type Config struct {
	// MQTTURL is the broker address: tcp://host:port, or ssl://, tls:// or
	// mqtts:// for TLS (verified against TLSCAFile when set).
	MQTTURL string `yaml:"mqtt_url"`
	// ClientID identifies the edge to the broker (one connection per id);
	// empty means "chargeplane-edge-<edge id>".
	ClientID string `yaml:"client_id"`
	// Username and Password log in to the broker. With Username empty and
	// Credential set, the broker login is the edge id and the credential
	// (see MQTTCredentials).
	Username string `yaml:"username"`
	Password string `yaml:"password" secret:"true"`
	// Credential is the per-edge secret the cloud issued for this edge. It
	// is sent as "Authorization: Bearer <credential>" on every Connect call
	// and is the default broker password.
	Credential string `yaml:"credential" secret:"true"`
	// TopicRoot is the MQTT topic root shared with the cloud.
	TopicRoot string `yaml:"topic_root"`
	// CloudURL is the cloud's Connect-RPC base URL (http:// or https://).
	CloudURL string `yaml:"cloud_url"`
	// TLSCAFile is a PEM file of the CA certificates that sign the cloud's
	// and the broker's server certificates, for a private CA. Empty: the
	// system roots.
	TLSCAFile string `yaml:"tls_ca_file"`
	// TLSInsecureSkipVerify turns off server certificate verification for
	// both the cloud and the broker. For tests only: it lets anyone on the
	// path read the credential.
	TLSInsecureSkipVerify bool `yaml:"tls_insecure_skip_verify"`
	// BatchEvents caps events per MQTT message.
	BatchEvents int `yaml:"batch_events"`
	// MaxInflight is how many batches may be published and awaiting the
	// broker's PUBACK at once while the outbox drains.
	MaxInflight int `yaml:"max_inflight"`
	// PublishTimeout bounds the wait for the broker's PUBACK of a batch,
	// counted from its publish.
	PublishTimeout time.Duration `yaml:"publish_timeout"`
	// CallTimeout bounds one Connect call to the cloud, its retries
	// included.
	CallTimeout time.Duration `yaml:"call_timeout"`
	// SessionPoll is how often finished sessions are looked for when the
	// ledger had nothing to upload.
	SessionPoll time.Duration `yaml:"session_poll"`
	// ConfigPoll is how often the site configuration is pulled without a
	// config-changed hint (hints are only nudges; they can be missed).
	ConfigPoll time.Duration `yaml:"config_poll"`
	// RetryMin and RetryMax bound the backoff between failed attempts.
	RetryMin time.Duration `yaml:"retry_min"`
	RetryMax time.Duration `yaml:"retry_max"`
}

// DefaultConfig returns loopback defaults.
func DefaultConfig() Config {
	return Config{
		MQTTURL:        "tcp://127.0.0.1:1883",
		TopicRoot:      topic.DefaultRoot,
		CloudURL:       "http://127.0.0.1:8080",
		BatchEvents:    500,
		MaxInflight:    8,
		PublishTimeout: 10 * time.Second,
		CallTimeout:    30 * time.Second,
		SessionPoll:    time.Second,
		ConfigPoll:     5 * time.Minute,
		RetryMin:       500 * time.Millisecond,
		RetryMax:       30 * time.Second,
	}
}

// maxMaxInflight bounds MaxInflight well below MQTT's 65535 packet ids and
// keeps the broker-side in-flight window sane.
const maxMaxInflight = 1000

// Validate reports every problem, each naming its key.
func (c Config) Validate() error {
	var errs []error
	if c.MQTTURL == "" {
		errs = append(errs, errors.New("uplink.mqtt_url: required"))
	}
	if _, err := topic.New(c.TopicRoot); err != nil {
		errs = append(errs, fmt.Errorf("uplink.topic_root: %w", err))
	}
	if c.CloudURL == "" {
		errs = append(errs, errors.New("uplink.cloud_url: required"))
	}
	if c.TLSCAFile != "" {
		if _, err := loadCAFile(c.TLSCAFile); err != nil {
			errs = append(errs, fmt.Errorf("uplink.tls_ca_file: %w", err))
		}
	}
	if c.BatchEvents < 1 || c.BatchEvents > 10000 {
		errs = append(errs, errors.New("uplink.batch_events: must be 1–10000"))
	}
	if c.MaxInflight < 1 || c.MaxInflight > maxMaxInflight {
		errs = append(errs, fmt.Errorf("uplink.max_inflight: must be 1–%d", maxMaxInflight))
	}
	if c.PublishTimeout <= 0 {
		errs = append(errs, errors.New("uplink.publish_timeout: must be positive"))
	}
	if c.CallTimeout <= 0 {
		errs = append(errs, errors.New("uplink.call_timeout: must be positive"))
	}
	if c.SessionPoll <= 0 {
		errs = append(errs, errors.New("uplink.session_poll: must be positive"))
	}
	if c.ConfigPoll <= 0 {
		errs = append(errs, errors.New("uplink.config_poll: must be positive"))
	}
	if c.RetryMin <= 0 || c.RetryMax < c.RetryMin {
		errs = append(errs, errors.New("uplink.retry_min/retry_max: need 0 < retry_min <= retry_max"))
	}
	return errors.Join(errs...)
}

// MQTTCredentials returns the broker login of edge edgeID: Username and
// Password when Username is set; otherwise, when Credential is set, the edge
// id and the credential (Password, if set, still wins). The downlink logs in
// with the same pair.
func (c Config) MQTTCredentials(edgeID string) (username, password string) {
	username, password = c.Username, c.Password
	if username == "" && c.Credential != "" {
		username = edgeID
	}
	if password == "" {
		password = c.Credential
	}
	return username, password
}

// TLSConfig returns the client TLS settings for the cloud and the broker:
// nil when neither TLSCAFile nor TLSInsecureSkipVerify is set (Go's and
// paho's defaults then verify against the system roots). Each call returns
// a new value: net/http edits the config it is given, so clients must not
// share one. The downlink uses its own call's result.
func (c Config) TLSConfig() (*tls.Config, error) {
	if c.TLSCAFile == "" && !c.TLSInsecureSkipVerify {
		return nil, nil //nolint:nilnil // nil means "library defaults", documented above
	}
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		// Test-only switch, documented on the field.
		InsecureSkipVerify: c.TLSInsecureSkipVerify, //nolint:gosec // opt-in, test only
	}
	if c.TLSCAFile != "" {
		pool, err := loadCAFile(c.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("uplink.tls_ca_file: %w", err)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// errNoCertificates reports a CA file without a single PEM certificate.
var errNoCertificates = errors.New("no PEM certificate found")

func loadCAFile(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: %w", path, errNoCertificates)
	}
	return pool, nil
}

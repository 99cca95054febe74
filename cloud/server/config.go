package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"go.yaml.in/yaml/v3"

	"github.com/chargeplane/chargeplane/cloud/identity"
	"github.com/chargeplane/chargeplane/shared/config"
	"github.com/chargeplane/chargeplane/shared/topic"
)

// Config is the whole configuration of the cloud binary. The yaml tags are
// the keys of the config file, of CHARGEPLANE_CLOUD_* variables and of -set
// (shared/config); deploy/chargeplane-cloud.yaml documents every one.
type Config struct {
	HTTP      HTTPConfig      `yaml:"http"`
	Postgres  PostgresConfig  `yaml:"postgres"`
	Redis     RedisConfig     `yaml:"redis"`
	MQTT      MQTTConfig      `yaml:"mqtt"`
	Broker    BrokerConfig    `yaml:"broker"`
	Presence  PresenceConfig  `yaml:"presence"`
	Ingest    IngestConfig    `yaml:"ingest"`
	Auth      AuthConfig      `yaml:"auth"`
	Commands  CommandsConfig  `yaml:"commands"`
	Live      LiveConfig      `yaml:"live"`
	Retention RetentionConfig `yaml:"retention"`
	Log       LogConfig       `yaml:"log"`
	// ShutdownTimeout bounds a graceful stop: in-flight HTTP requests, then
	// the final ingest batch.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// HTTPConfig is the API server's.
type HTTPConfig struct {
	// Addr is host:port to listen on; port 0 picks a free port.
	Addr string `yaml:"addr"`
}

// PostgresConfig says where the system of record is.
type PostgresConfig struct {
	URL      string `yaml:"url" secret:"true"`
	MaxConns int32  `yaml:"max_conns"`
}

// RedisConfig says where presence lives.
type RedisConfig struct {
	URL    string `yaml:"url" secret:"true"`
	Prefix string `yaml:"prefix"`
}

// MQTTConfig says how the ingest consumer reaches the broker.
type MQTTConfig struct {
	// URL of the broker; may be empty when Broker.EmbeddedAddr is set.
	URL       string `yaml:"url"`
	ClientID  string `yaml:"client_id"`
	Group     string `yaml:"group"`
	TopicRoot string `yaml:"topic_root"`
	Username  string `yaml:"username"`
	Password  string `yaml:"password" secret:"true"`
}

// BrokerConfig controls the embedded broker.
type BrokerConfig struct {
	// EmbeddedAddr, when set, starts an MQTT broker inside the cloud on
	// this host:port (single-machine setups).
	EmbeddedAddr string `yaml:"embedded_addr"`
}

// PresenceConfig controls when a charger counts as online.
type PresenceConfig struct {
	Timeout time.Duration `yaml:"timeout"`
}

// IngestConfig controls batching of MQTT events into Postgres: a batch
// closes at BatchEvents events, BatchWait after its first message, or as
// soon as no further message is waiting.
type IngestConfig struct {
	BatchEvents   int           `yaml:"batch_events"`
	BatchWait     time.Duration `yaml:"batch_wait"`
	QueueMessages int           `yaml:"queue_messages"`
}

// AuthConfig controls the operator API's logins, API keys and rate limits
// (cloud/identity, cloud/api authz).
type AuthConfig struct {
	// SessionTTL is how long a login session lasts.
	SessionTTL time.Duration `yaml:"session_ttl"`
	// LockoutAfter failed logins in a row lock the account for LockoutFor.
	LockoutAfter int           `yaml:"lockout_after"`
	LockoutFor   time.Duration `yaml:"lockout_for"`
	// RateLimit bounds calls per minute and subject, shared by all replicas.
	RateLimit RateLimitConfig `yaml:"rate_limit"`
	// BootstrapAdmin, when its email is set, is created as a platform admin
	// at start if no user has that email (a fresh install's first admin).
	BootstrapAdmin BootstrapAdminConfig `yaml:"bootstrap_admin"`
}

// RateLimitConfig bounds calls per minute; 0 disables a limit.
type RateLimitConfig struct {
	// UserPerMinute is per user login session.
	UserPerMinute int `yaml:"user_per_minute"`
	// KeyPerMinute is per API key.
	KeyPerMinute int `yaml:"key_per_minute"`
	// PublicPerMinute is per client IP for login, registration and
	// password reset.
	PublicPerMinute int `yaml:"public_per_minute"`
}

// CommandsConfig bounds remote control (cloud/command): an edge does not
// run a command older than Expiry, the cloud marks a command timed_out when
// no result arrived ResultWait after that, and every replica sweeps for such
// commands every SweepInterval.
type CommandsConfig struct {
	Expiry        time.Duration `yaml:"expiry"`
	ResultWait    time.Duration `yaml:"result_wait"`
	SweepInterval time.Duration `yaml:"sweep_interval"`
}

// LiveConfig tunes the live stream (cloud/live): Buffer updates may wait
// for a slow watcher before it is dropped; the SSE endpoint writes a
// keep-alive comment every Heartbeat.
type LiveConfig struct {
	Buffer    int           `yaml:"buffer"`
	Heartbeat time.Duration `yaml:"heartbeat"`
}

// RetentionConfig bounds how long logs are kept (cloud/retention): events
// (the chargers' operation log) after the cloud received them, commands
// after they were requested; 0 keeps a table forever. Every replica prunes
// every Interval. Sessions and wallet entries are money records and are
// always kept.
type RetentionConfig struct {
	Events   time.Duration `yaml:"events"`
	Commands time.Duration `yaml:"commands"`
	Interval time.Duration `yaml:"interval"`
}

// minRetention is the shortest retention accepted: commands must outlive
// their expiry and result wait by far, and a typo such as "90s" for "90d"
// must not empty a table.
const minRetention = 24 * time.Hour

// BootstrapAdminConfig names the first platform admin.
type BootstrapAdminConfig struct {
	Email    string `yaml:"email"`
	Password string `yaml:"password" secret:"true"`
}

// LogConfig controls the process log (stderr).
type LogConfig struct {
	Level  slog.Level `yaml:"level"`
	Format string     `yaml:"format"`
}

// DefaultConfig returns safe defaults: every address on loopback, and no
// Postgres URL (it must be given).
func DefaultConfig() Config {
	return Config{
		HTTP:     HTTPConfig{Addr: "127.0.0.1:8080"},
		Postgres: PostgresConfig{MaxConns: 10},
		Redis:    RedisConfig{URL: "redis://127.0.0.1:6379/0", Prefix: "cp:"},
		MQTT: MQTTConfig{
			URL:       "tcp://127.0.0.1:1883",
			ClientID:  "chargeplane-cloud",
			Group:     "cloud",
			TopicRoot: topic.DefaultRoot,
		},
		Presence: PresenceConfig{Timeout: 3 * time.Minute},
		Ingest:   IngestConfig{BatchEvents: 1000, BatchWait: 50 * time.Millisecond, QueueMessages: 1000},
		Auth: AuthConfig{
			SessionTTL:   12 * time.Hour,
			LockoutAfter: 5,
			LockoutFor:   15 * time.Minute,
			RateLimit:    RateLimitConfig{UserPerMinute: 600, KeyPerMinute: 1200, PublicPerMinute: 60},
		},
		Commands:        CommandsConfig{Expiry: 2 * time.Minute, ResultWait: 3 * time.Minute, SweepInterval: 10 * time.Second},
		Live:            LiveConfig{Buffer: 256, Heartbeat: 15 * time.Second},
		Retention:       RetentionConfig{Events: 90 * 24 * time.Hour, Commands: 365 * 24 * time.Hour, Interval: time.Hour},
		Log:             LogConfig{Level: slog.LevelInfo, Format: "text"},
		ShutdownTimeout: 15 * time.Second,
	}
}

// Validate reports every problem of c at once, each naming its yaml key.
// Error text never quotes a secret.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	checkAddr := func(key, addr string) {
		if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
			bad(key, "want host:port, got %q", addr)
		}
	}

	if c.HTTP.Addr == "" {
		bad("http.addr", "required")
	} else {
		checkAddr("http.addr", c.HTTP.Addr)
	}

	if c.Postgres.URL == "" {
		bad("postgres.url", "required")
	} else if _, err := pgxpool.ParseConfig(c.Postgres.URL); err != nil {
		bad("postgres.url", "not a valid connection string")
	}
	if c.Postgres.MaxConns < 1 {
		bad("postgres.max_conns", "must be at least 1, got %d", c.Postgres.MaxConns)
	}

	if c.Redis.URL == "" {
		bad("redis.url", "required")
	} else if _, err := redis.ParseURL(c.Redis.URL); err != nil {
		bad("redis.url", "not a valid redis:// URL")
	}
	if c.Redis.Prefix == "" {
		bad("redis.prefix", "required (keys of several deployments must not mix)")
	} else if strings.ContainsAny(c.Redis.Prefix, "*?[]\\ ") {
		bad("redis.prefix", "must not contain glob characters or spaces, got %q", c.Redis.Prefix)
	}

	switch {
	case c.MQTT.URL == "" && c.Broker.EmbeddedAddr == "":
		bad("mqtt.url", "required unless broker.embedded_addr is set")
	case c.MQTT.URL != "":
		if u, err := url.Parse(c.MQTT.URL); err != nil || u.Host == "" || !knownScheme(u.Scheme) {
			bad("mqtt.url", "want tcp://, ssl://, tls://, mqtt://, mqtts://, ws:// or wss:// host:port, got %q", c.MQTT.URL)
		}
	}
	if c.MQTT.ClientID == "" {
		bad("mqtt.client_id", "required (stable and unique per replica)")
	}
	if !topic.ValidSegment(c.MQTT.Group) {
		bad("mqtt.group", "must be one non-empty topic level without '/', '+' or '#', got %q", c.MQTT.Group)
	}
	if _, err := topic.New(c.MQTT.TopicRoot); err != nil {
		bad("mqtt.topic_root", "must be non-empty, without wildcards, not starting with '$', got %q", c.MQTT.TopicRoot)
	}
	if c.Broker.EmbeddedAddr != "" {
		checkAddr("broker.embedded_addr", c.Broker.EmbeddedAddr)
	}

	for _, d := range []struct {
		key string
		d   time.Duration
	}{
		{"commands.expiry", c.Commands.Expiry}, {"commands.result_wait", c.Commands.ResultWait},
		{"commands.sweep_interval", c.Commands.SweepInterval}, {"live.heartbeat", c.Live.Heartbeat},
	} {
		if d.d <= 0 {
			bad(d.key, "must be positive, got %s", d.d)
		}
	}
	if c.Live.Buffer < 1 || c.Live.Buffer > 100_000 {
		bad("live.buffer", "must be 1–100000, got %d", c.Live.Buffer)
	}

	for _, r := range []struct {
		key string
		d   time.Duration
	}{{"retention.events", c.Retention.Events}, {"retention.commands", c.Retention.Commands}} {
		if r.d != 0 && r.d < minRetention {
			bad(r.key, "must be 0 (keep forever) or at least %s, got %s", minRetention, r.d)
		}
	}
	if c.Retention.Interval < time.Minute || c.Retention.Interval > 24*time.Hour {
		bad("retention.interval", "must be 1m–24h, got %s", c.Retention.Interval)
	}

	if c.Presence.Timeout <= 0 {
		bad("presence.timeout", "must be positive, got %s", c.Presence.Timeout)
	}

	if c.Ingest.BatchEvents < 1 || c.Ingest.BatchEvents > 100_000 {
		bad("ingest.batch_events", "must be between 1 and 100000, got %d", c.Ingest.BatchEvents)
	}
	if c.Ingest.BatchWait <= 0 || c.Ingest.BatchWait > 10*time.Second {
		bad("ingest.batch_wait", "must be more than 0 and at most 10s, got %s", c.Ingest.BatchWait)
	}
	if c.Ingest.QueueMessages < 1 {
		bad("ingest.queue_messages", "must be at least 1, got %d", c.Ingest.QueueMessages)
	}

	if c.Auth.SessionTTL < time.Minute {
		bad("auth.session_ttl", "must be at least 1m, got %s", c.Auth.SessionTTL)
	}
	if c.Auth.LockoutAfter < 1 {
		bad("auth.lockout_after", "must be at least 1, got %d", c.Auth.LockoutAfter)
	}
	if c.Auth.LockoutFor <= 0 {
		bad("auth.lockout_for", "must be positive, got %s", c.Auth.LockoutFor)
	}
	for key, v := range map[string]int{
		"auth.rate_limit.user_per_minute":   c.Auth.RateLimit.UserPerMinute,
		"auth.rate_limit.key_per_minute":    c.Auth.RateLimit.KeyPerMinute,
		"auth.rate_limit.public_per_minute": c.Auth.RateLimit.PublicPerMinute,
	} {
		if v < 0 {
			bad(key, "must be 0 (no limit) or more, got %d", v)
		}
	}
	if b := c.Auth.BootstrapAdmin; b.Email != "" || b.Password != "" {
		if _, err := identity.NormalizeEmail("auth.bootstrap_admin.email", b.Email); err != nil {
			errs = append(errs, err)
		}
		if err := identity.CheckPassword("auth.bootstrap_admin.password", b.Password); err != nil {
			errs = append(errs, err)
		}
	}

	if c.Log.Format != "text" && c.Log.Format != "json" {
		bad("log.format", "must be text or json, got %q", c.Log.Format)
	}
	if c.ShutdownTimeout <= 0 {
		bad("shutdown_timeout", "must be positive, got %s", c.ShutdownTimeout)
	}
	return errors.Join(errs...)
}

func knownScheme(s string) bool {
	switch s {
	case "tcp", "ssl", "tls", "mqtt", "mqtts", "ws", "wss":
		return true
	}
	return false
}

// String renders c as YAML with every secret replaced by REDACTED, so a
// config can be printed or logged.
func (c Config) String() string {
	out, err := yaml.Marshal(config.Redacted(c))
	if err != nil {
		return fmt.Sprintf("(config: %v)", err)
	}
	return string(out)
}

// LogValue keeps secrets out of logs when a Config is logged.
func (c Config) LogValue() slog.Value {
	return slog.StringValue(c.String())
}

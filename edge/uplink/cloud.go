package uplink

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"connectrpc.com/connect"
	"github.com/hashicorp/go-retryablehttp"

	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1/chargeplanev1connect"
)

// callAttempts is how many times one Connect call is retried by the HTTP
// client (connection errors, 429 and 5xx) before the caller's own backoff
// takes over.
const callAttempts = 3

// newSyncClient builds the SyncService client: retryablehttp underneath
// (every SyncService method is idempotent, so resending is safe), the
// credential on every call, and the TLS settings for https:// cloud URLs.
func newSyncClient(cfg Config, tlsCfg *tls.Config, logger *slog.Logger) chargeplanev1connect.SyncServiceClient {
	rc := retryablehttp.NewClient()
	rc.RetryWaitMin = cfg.RetryMin
	rc.RetryWaitMax = cfg.RetryMax
	rc.RetryMax = callAttempts
	rc.Logger = retryLogger{logger}
	rc.ErrorHandler = lastAttempt
	if tlsCfg != nil {
		base, ok := rc.HTTPClient.Transport.(*http.Transport)
		if !ok {
			base = http.DefaultTransport.(*http.Transport) //nolint:forcetypeassert // documented type
		}
		tr := base.Clone()
		tr.TLSClientConfig = tlsCfg.Clone() // net/http edits it (ALPN); paho must not see that
		// A custom TLS config turns HTTP/2 off unless asked for.
		tr.ForceAttemptHTTP2 = true
		rc.HTTPClient.Transport = tr
	}
	var opts []connect.ClientOption
	if cfg.Credential != "" {
		opts = append(opts, connect.WithInterceptors(bearer(cfg.Credential)))
	}
	return chargeplanev1connect.NewSyncServiceClient(rc.StandardClient(), cfg.CloudURL, opts...)
}

// lastAttempt hands the last response to Connect when retries run out, so
// the caller sees the cloud's own error code and message (say,
// unavailable: database down), not "giving up after 4 attempts". With an
// error there is no usable response: its body is closed and only the error
// goes up (net/http would otherwise drop the response unclosed).
func lastAttempt(resp *http.Response, err error, attempts int) (*http.Response, error) {
	if err == nil {
		return resp, nil
	}
	if resp != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		_ = resp.Body.Close()
	}
	return nil, fmt.Errorf("after %d attempts: %w", attempts, err)
}

// retryLogger keeps retryablehttp's per-attempt logging at Debug: a failed
// attempt is retried, and the caller logs the call's outcome at Warn once
// the retries are spent.
type retryLogger struct{ l *slog.Logger }

func (r retryLogger) Error(msg string, kv ...any) { r.l.Debug(msg, kv...) }
func (r retryLogger) Warn(msg string, kv ...any)  { r.l.Debug(msg, kv...) }
func (r retryLogger) Info(msg string, kv ...any)  { r.l.Debug(msg, kv...) }
func (r retryLogger) Debug(msg string, kv ...any) { r.l.Debug(msg, kv...) }

// bearer sets "Authorization: Bearer <credential>" on every call; the cloud
// authenticates every SyncService method with it.
func bearer(credential string) connect.UnaryInterceptorFunc {
	value := "Bearer " + credential
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			req.Header().Set("Authorization", value)
			return next(ctx, req)
		}
	}
}

// handshakeLoop calls SyncService.Handshake at start and after every MQTT
// reconnect, retrying with backoff until it succeeds.
func (u *Uplink) handshakeLoop(ctx context.Context) {
	seen, _ := u.conn.state()
	for {
		bo := newBackoff(u.cfg)
		for {
			err := u.handshake(ctx)
			if err == nil || ctx.Err() != nil {
				break
			}
			d := bo.wait()
			u.log.Warn("cloud handshake failed; will retry", "err", err, "backoff", d)
			if !sleep(ctx, d) {
				return
			}
		}
		// Wait for a connect not yet handshaken for (the first one may
		// already have happened while the call above ran).
		for {
			gen, next := u.conn.state()
			if gen != seen {
				seen = gen
				break
			}
			select {
			case <-ctx.Done():
				return
			case <-next:
			}
		}
	}
}

func (u *Uplink) handshake(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, u.cfg.CallTimeout)
	defer cancel()
	resp, err := u.sync.Handshake(ctx, connect.NewRequest(&chargeplanev1.HandshakeRequest{
		EdgeId: u.edgeID, TenantId: u.tenantID, AgentVersion: u.version, LastSeq: u.store.LastSeq(),
	}))
	u.callDone("Handshake", err)
	if err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	u.setStatus(func(s *Status) {
		s.CloudLastSeq = resp.Msg.GetLastStoredSeq()
		s.LastHandshake = time.Now()
	})
	u.log.Info("cloud handshake ok", "cloud_version", resp.Msg.GetCloudVersion(),
		"cloud_last_seq", resp.Msg.GetLastStoredSeq(), "seq", u.store.LastSeq())
	return nil
}

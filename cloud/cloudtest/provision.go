package cloudtest

import (
	"context"
	"net/http"
	"strconv"
	"testing"

	"connectrpc.com/connect"
	paho "github.com/eclipse/paho.mqtt.golang"

	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1/chargeplanev1connect"
	"github.com/chargeplane/chargeplane/shared/mqtttest"
	"github.com/chargeplane/chargeplane/shared/topic"
)

// ProvisionEdge creates edge for tenant through EdgeService.CreateEdge and
// returns its credential (for SyncClient, or an edge's uplink.credential).
func (c *Cloud) ProvisionEdge(tb testing.TB, tenant, edge string) string {
	tb.Helper()
	res, err := c.EdgeClient().CreateEdge(context.Background(), connect.NewRequest(&chargeplanev1.CreateEdgeRequest{
		TenantId: tenant, EdgeId: edge, Name: "cloudtest " + edge,
	}))
	if err != nil {
		tb.Fatalf("cloudtest: provision edge %s/%s: %v", tenant, edge, err)
	}
	return res.Msg.GetCredential()
}

// Bearer returns a client option sending credential (an edge credential,
// a session token or an API key) as "Authorization: Bearer" on every call,
// streaming calls included.
func Bearer(credential string) connect.ClientOption {
	return connect.WithInterceptors(bearer(credential))
}

// bearer sets the Authorization header of unary and streaming calls.
type bearer string

func (b bearer) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		req.Header().Set("Authorization", "Bearer "+string(b))
		return next(ctx, req)
	}
}

func (b bearer) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		conn.RequestHeader().Set("Authorization", "Bearer "+string(b))
		return conn
	}
}

func (b bearer) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

// SyncClient returns a SyncService client that authenticates with
// credential ("" sends none).
func (c *Cloud) SyncClient(credential string, opts ...connect.ClientOption) chargeplanev1connect.SyncServiceClient {
	if credential != "" {
		opts = append(opts, Bearer(credential))
	}
	return chargeplanev1connect.NewSyncServiceClient(http.DefaultClient, c.URL, opts...)
}

// EdgeClient returns an EdgeService client acting as the platform admin
// unless opts authenticate otherwise.
func (c *Cloud) EdgeClient(opts ...connect.ClientOption) chargeplanev1connect.EdgeServiceClient {
	return chargeplanev1connect.NewEdgeServiceClient(http.DefaultClient, c.URL, c.withAdmin(opts)...)
}

// SiteConfigClient returns a SiteConfigService client acting as the
// platform admin unless opts authenticate otherwise.
func (c *Cloud) SiteConfigClient(opts ...connect.ClientOption) chargeplanev1connect.SiteConfigServiceClient {
	return chargeplanev1connect.NewSiteConfigServiceClient(http.DefaultClient, c.URL, c.withAdmin(opts)...)
}

// SessionClient returns a SessionService client acting as the platform
// admin unless opts authenticate otherwise.
func (c *Cloud) SessionClient(opts ...connect.ClientOption) chargeplanev1connect.SessionServiceClient {
	return chargeplanev1connect.NewSessionServiceClient(http.DefaultClient, c.URL, c.withAdmin(opts)...)
}

// Hints subscribes, on the cloud's broker, to the config-changed hints of
// tenant/edge and returns the versions they carry, in arrival order. The
// subscription is in place when Hints returns; a payload that is not a
// decimal version fails the test.
func (c *Cloud) Hints(tb testing.TB, tenant, edge string) <-chan uint64 {
	tb.Helper()
	out := make(chan uint64, 100)
	client := mqtttest.MustConnect(tb, c.Config.MQTT.URL, "hints-"+edge+"-"+randomHex(4))
	name := c.Space.Stream(tenant, edge, topic.Down, topic.KindConfig)
	err := mqtttest.Wait(client.Subscribe(name, 1, func(_ paho.Client, m paho.Message) {
		v, err := strconv.ParseUint(string(m.Payload()), 10, 64)
		if err != nil {
			tb.Errorf("cloudtest: hint on %s: payload %q is not a decimal version", m.Topic(), m.Payload())
			return
		}
		select {
		case out <- v:
		default:
			tb.Errorf("cloudtest: more than %d hints on %s unread", cap(out), name)
		}
	}))
	if err != nil {
		tb.Fatalf("cloudtest: subscribe to %s: %v", name, err)
	}
	return out
}

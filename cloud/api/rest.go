package api

import (
	"bytes"
	"cmp"
	"context"
	_ "embed" // the OpenAPI document
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1/chargeplanev1connect"
)

// RESTPrefix is the path prefix NewREST's handler is mounted at.
const RESTPrefix = "/v1/"

// OpenAPIPath serves the OpenAPI document of the REST face (public).
const OpenAPIPath = RESTPrefix + "openapi.yaml"

// restMaxBody bounds a REST request body: start and stop requests are a few
// hundred bytes.
const restMaxBody = 64 << 10

// restBaseURL is the base URL of the in-process Connect clients; it never
// reaches a network.
const restBaseURL = "http://in-process"

// openAPI is the OpenAPI 3.0 document of the REST face, served at
// OpenAPIPath. A test compares its paths with RESTRoutes.
//
//go:embed openapi.yaml
var openAPI []byte

// REST is the REST/JSON face of the operator API for third-party
// integrators: a thin translation of resource URLs onto the Connect
// services. Every call is made by an in-process Connect client on the very
// handler the server mounts, so authentication, authorization, rate limits,
// validation and error mapping happen exactly as for a Connect caller, in
// one place (authz.go, policy.go, errors.go). Bodies are protojson, as in
// Connect JSON: lowerCamelCase names, 64-bit integers as strings, enums by
// name, timestamps in RFC 3339. docs/api.md is the integrator's guide;
// openapi.yaml the contract.
type REST struct {
	mux      *http.ServeMux
	chargers chargeplanev1connect.ChargerServiceClient
	fleet    chargeplanev1connect.FleetServiceClient
	commands chargeplanev1connect.CommandServiceClient
	sessions chargeplanev1connect.SessionServiceClient
	live     chargeplanev1connect.LiveServiceClient
	logger   *slog.Logger
}

// restRoute is one endpoint of the REST face.
type restRoute struct {
	method, path string
	handler      http.Handler
}

// NewREST returns the REST face, to be mounted at RESTPrefix. handler is
// what serves the Connect services (the server's mux, without request
// logging: the REST request is logged once, by the outer WithRequestLog);
// only unary procedures are called on it.
func NewREST(handler http.Handler, logger *slog.Logger) *REST {
	client := &http.Client{Transport: inProcess{handler: handler}}
	// The response never crosses a network: compressing it is wasted work.
	opts := []connect.ClientOption{connect.WithAcceptCompression("gzip", nil, nil)}
	h := &REST{
		mux:      http.NewServeMux(),
		chargers: chargeplanev1connect.NewChargerServiceClient(client, restBaseURL, opts...),
		fleet:    chargeplanev1connect.NewFleetServiceClient(client, restBaseURL, opts...),
		commands: chargeplanev1connect.NewCommandServiceClient(client, restBaseURL, opts...),
		sessions: chargeplanev1connect.NewSessionServiceClient(client, restBaseURL, opts...),
		live:     chargeplanev1connect.NewLiveServiceClient(client, restBaseURL, opts...),
		logger:   logger.With("component", "rest"),
	}
	for _, rt := range h.routes() {
		h.mux.Handle(rt.method+" "+rt.path, rt.handler)
	}
	h.mux.HandleFunc(RESTPrefix, h.unrouted)
	return h
}

// RESTRoutes lists the endpoints NewREST serves as "METHOD /path" with
// {name} wildcards, in the order of the OpenAPI document.
func RESTRoutes() []string {
	var out []string
	for _, rt := range (&REST{}).routes() {
		out = append(out, rt.method+" "+rt.path)
	}
	return out
}

// ServeHTTP serves one REST request.
func (h *REST) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mux.ServeHTTP(w, r)
}

func (h *REST) routes() []restRoute {
	return []restRoute{
		{http.MethodGet, "/v1/chargers", h.endpoint(http.StatusOK, h.listChargers)},
		{http.MethodGet, "/v1/chargers/{edge_id}/{charger_id}", h.endpoint(http.StatusOK, h.getCharger)},
		{http.MethodGet, "/v1/chargers/{edge_id}/{charger_id}/events", h.endpoint(http.StatusOK, h.listChargerEvents)},
		{http.MethodPost, "/v1/chargers/{edge_id}/{charger_id}/start", h.endpoint(http.StatusAccepted, h.startCharging)},
		{http.MethodPost, "/v1/chargers/{edge_id}/{charger_id}/stop", h.endpoint(http.StatusAccepted, h.stopCharging)},
		{http.MethodGet, "/v1/commands/{command_id}", h.endpoint(http.StatusOK, h.getCommand)},
		{http.MethodGet, "/v1/sessions", h.endpoint(http.StatusOK, h.listSessions)},
		{http.MethodGet, "/v1/connectors", h.endpoint(http.StatusOK, h.listConnectors)},
		{http.MethodGet, OpenAPIPath, http.HandlerFunc(serveOpenAPI)},
	}
}

// endpointFunc does one REST call: it may set response headers on w, and
// returns the message to answer with the route's status.
type endpointFunc func(w http.ResponseWriter, r *http.Request) (proto.Message, error)

func (h *REST) endpoint(status int, f endpointFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		msg, err := f(w, r)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		body, err := protojson.Marshal(msg)
		if err != nil {
			h.writeError(w, r, fmt.Errorf("marshal %s: %w", msg.ProtoReflect().Descriptor().FullName(), err))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		_, _ = w.Write(body) // the client went away; nothing to do
	})
}

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	// application/yaml: RFC 9512.
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(openAPI)
}

// unrouted answers what no route matched: 405 naming the allowed methods
// when the path is an endpoint's, else 404.
func (h *REST) unrouted(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := h.mux.Handler(probe); pattern != RESTPrefix {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		h.writeError(w, r, &restError{status: http.StatusMethodNotAllowed, code: connect.CodeUnimplemented,
			msg: fmt.Sprintf("%s is not allowed on %s: use %s", r.Method, r.URL.Path, strings.Join(allow, " or "))})
		return
	}
	h.writeError(w, r, &restError{status: http.StatusNotFound, code: connect.CodeNotFound,
		msg: fmt.Sprintf("no endpoint %s %s: see %s", r.Method, r.URL.Path, OpenAPIPath)})
}

func (h *REST) listChargers(_ http.ResponseWriter, r *http.Request) (proto.Message, error) {
	q, err := restQuery(r, "tenant_id", "edge_id", "page_size", "page_token")
	if err != nil {
		return nil, err
	}
	size, err := q.int32("page_size")
	if err != nil {
		return nil, err
	}
	return reply(invoke(r, h.chargers.ListChargers, &chargeplanev1.ListChargersRequest{
		TenantId: q.get("tenant_id"), EdgeId: q.get("edge_id"), PageSize: size, PageToken: q.get("page_token"),
	}))
}

func (h *REST) getCharger(_ http.ResponseWriter, r *http.Request) (proto.Message, error) {
	q, err := restQuery(r, "tenant_id")
	if err != nil {
		return nil, err
	}
	return reply(invoke(r, h.fleet.GetCharger, &chargeplanev1.GetChargerRequest{
		TenantId: q.get("tenant_id"), EdgeId: r.PathValue("edge_id"), ChargerId: r.PathValue("charger_id"),
	}))
}

// listChargerEvents is a charger's operation log; kinds is a
// comma-separated list.
func (h *REST) listChargerEvents(_ http.ResponseWriter, r *http.Request) (proto.Message, error) {
	q, err := restQuery(r, "tenant_id", "kinds", "from", "to", "page_size", "page_token")
	if err != nil {
		return nil, err
	}
	size, from, to, err := q.timePage()
	if err != nil {
		return nil, err
	}
	var kinds []string
	if k := q.get("kinds"); k != "" {
		kinds = strings.Split(k, ",")
	}
	return reply(invoke(r, h.chargers.ListChargerEvents, &chargeplanev1.ListChargerEventsRequest{
		TenantId: q.get("tenant_id"), EdgeId: r.PathValue("edge_id"), ChargerId: r.PathValue("charger_id"),
		Kinds: kinds, From: from, To: to, PageSize: size, PageToken: q.get("page_token"),
	}))
}

// chargerCommand is what the start and stop bodies share with the URL.
type chargerCommand interface {
	proto.Message
	GetTenantId() string
	GetEdgeId() string
	GetChargerId() string
}

// commandTarget reads a start or stop body into msg and returns the tenant
// (body or query), edge and charger (path) it acts on. The path names the
// charger: a body naming another one is refused rather than ignored.
func commandTarget(r *http.Request, msg chargerCommand) (tenant, edge, charger string, err error) {
	q, err := restQuery(r, "tenant_id")
	if err != nil {
		return "", "", "", err
	}
	if err := readJSON(r, msg); err != nil {
		return "", "", "", err
	}
	edge, charger = r.PathValue("edge_id"), r.PathValue("charger_id")
	if v := msg.GetEdgeId(); v != "" && v != edge {
		return "", "", "", &FieldError{Field: "edge_id", Reason: fmt.Sprintf("the path names edge %q, the body %q: leave it out of the body", edge, v)}
	}
	if v := msg.GetChargerId(); v != "" && v != charger {
		return "", "", "", &FieldError{Field: "charger_id", Reason: fmt.Sprintf("the path names charger %q, the body %q: leave it out of the body", charger, v)}
	}
	tenant = msg.GetTenantId()
	if qt := q.get("tenant_id"); qt != "" {
		if tenant != "" && tenant != qt {
			return "", "", "", &FieldError{Field: "tenant_id", Reason: fmt.Sprintf("the query names tenant %q, the body %q", qt, tenant)}
		}
		tenant = qt
	}
	return tenant, edge, charger, nil
}

func (h *REST) startCharging(w http.ResponseWriter, r *http.Request) (proto.Message, error) {
	msg := &chargeplanev1.StartChargingRequest{}
	tenant, edge, charger, err := commandTarget(r, msg)
	if err != nil {
		return nil, err
	}
	msg.TenantId, msg.EdgeId, msg.ChargerId = tenant, edge, charger
	res, err := invoke(r, h.commands.StartCharging, msg)
	if err != nil {
		return nil, err
	}
	setCommandLocation(w, res.GetCommand())
	return res, nil
}

func (h *REST) stopCharging(w http.ResponseWriter, r *http.Request) (proto.Message, error) {
	msg := &chargeplanev1.StopChargingRequest{}
	tenant, edge, charger, err := commandTarget(r, msg)
	if err != nil {
		return nil, err
	}
	msg.TenantId, msg.EdgeId, msg.ChargerId = tenant, edge, charger
	res, err := invoke(r, h.commands.StopCharging, msg)
	if err != nil {
		return nil, err
	}
	setCommandLocation(w, res.GetCommand())
	return res, nil
}

// setCommandLocation points a 202 at where the command's outcome can be
// read (RFC 9110 section 15.3.3).
func setCommandLocation(w http.ResponseWriter, c *chargeplanev1.Command) {
	if id := c.GetCommandId(); id != "" {
		w.Header().Set("Location", "/v1/commands/"+url.PathEscape(id))
	}
}

func (h *REST) getCommand(_ http.ResponseWriter, r *http.Request) (proto.Message, error) {
	q, err := restQuery(r, "tenant_id")
	if err != nil {
		return nil, err
	}
	return reply(invoke(r, h.commands.GetCommand, &chargeplanev1.GetCommandRequest{
		TenantId: q.get("tenant_id"), CommandId: r.PathValue("command_id"),
	}))
}

func (h *REST) listSessions(_ http.ResponseWriter, r *http.Request) (proto.Message, error) {
	q, err := restQuery(r, "tenant_id", "edge_id", "charger_id", "card_id", "user_id", "site_id",
		"from", "to", "page_size", "page_token")
	if err != nil {
		return nil, err
	}
	size, from, to, err := q.timePage()
	if err != nil {
		return nil, err
	}
	return reply(invoke(r, h.sessions.ListSessions, &chargeplanev1.ListSessionsRequest{
		TenantId: q.get("tenant_id"), EdgeId: q.get("edge_id"), ChargerId: q.get("charger_id"),
		CardId: q.get("card_id"), UserId: q.get("user_id"), SiteId: q.get("site_id"),
		From: from, To: to, PageSize: size, PageToken: q.get("page_token"),
	}))
}

func (h *REST) listConnectors(_ http.ResponseWriter, r *http.Request) (proto.Message, error) {
	q, err := restQuery(r, "tenant_id", "edge_id", "charger_id", "status", "page_size", "page_token")
	if err != nil {
		return nil, err
	}
	size, err := q.int32("page_size")
	if err != nil {
		return nil, err
	}
	status, err := q.connectorStatus("status")
	if err != nil {
		return nil, err
	}
	return reply(invoke(r, h.live.ListConnectorStatus, &chargeplanev1.ListConnectorStatusRequest{
		TenantId: q.get("tenant_id"), EdgeId: q.get("edge_id"), ChargerId: q.get("charger_id"),
		Status: status, PageSize: size, PageToken: q.get("page_token"),
	}))
}

// remoteAddrKey carries the REST caller's address to the in-process call,
// so that the services see the real peer (connect.Peer).
type remoteAddrKey struct{}

// invoke calls one unary procedure in-process as the REST caller: with its
// credential, request id, context and address.
func invoke[Req, Res any](r *http.Request, call func(context.Context, *connect.Request[Req]) (*connect.Response[Res], error), msg *Req) (*Res, error) {
	req := connect.NewRequest(msg)
	if v := r.Header.Get("Authorization"); v != "" {
		req.Header().Set("Authorization", v)
	}
	// The id WithRequestLog gave the REST request (also in the context),
	// else the caller's.
	if id := cmp.Or(RequestID(r.Context()), r.Header.Get(RequestIDHeader)); id != "" {
		req.Header().Set(RequestIDHeader, id)
	}
	res, err := call(context.WithValue(r.Context(), remoteAddrKey{}, r.RemoteAddr), req)
	if err != nil {
		return nil, err
	}
	return res.Msg, nil
}

// reply turns invoke's result into an endpoint's, with no typed nil.
func reply[M proto.Message](m M, err error) (proto.Message, error) {
	if err != nil {
		return nil, err
	}
	return m, nil
}

// restValues are a request's query parameters, checked against the ones an
// endpoint takes.
type restValues url.Values

// restQuery parses r's query, refusing a parameter the endpoint does not
// take (a misspelt filter must not silently match everything) or one given
// twice.
func restQuery(r *http.Request, allowed ...string) (restValues, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, &FieldError{Field: "query", Reason: "not a valid query string"}
	}
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !slices.Contains(allowed, name) {
			return nil, &FieldError{Field: name, Reason: "unknown query parameter; this endpoint takes " + strings.Join(allowed, ", ")}
		}
		if len(q[name]) > 1 {
			return nil, &FieldError{Field: name, Reason: "given more than once"}
		}
	}
	return restValues(q), nil
}

func (q restValues) get(name string) string { return url.Values(q).Get(name) }

// int32 reads an optional integer parameter; absent is 0.
func (q restValues) int32(name string) (int32, error) {
	s := q.get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, &FieldError{Field: name, Reason: fmt.Sprintf("must be an integer, got %q", s)}
	}
	return int32(n), nil
}

// time reads an optional RFC 3339 timestamp parameter.
func (q restValues) time(name string) (*timestamppb.Timestamp, error) {
	s := q.get(name)
	if s == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return nil, &FieldError{Field: name, Reason: fmt.Sprintf("must be an RFC 3339 time such as 2026-05-01T08:00:00Z, got %q", s)}
	}
	return timestamppb.New(t), nil
}

// timePage reads the page_size, from and to parameters of a time-ranged list.
func (q restValues) timePage() (size int32, from, to *timestamppb.Timestamp, err error) {
	if size, err = q.int32("page_size"); err != nil {
		return 0, nil, nil, err
	}
	if from, err = q.time("from"); err != nil {
		return 0, nil, nil, err
	}
	if to, err = q.time("to"); err != nil {
		return 0, nil, nil, err
	}
	return size, from, to, nil
}

// connectorStatus reads an optional status filter: "charging" or
// "CONNECTOR_STATUS_CHARGING".
func (q restValues) connectorStatus(name string) (chargeplanev1.ConnectorStatus, error) {
	s := q.get(name)
	if s == "" {
		return chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_UNSPECIFIED, nil
	}
	const prefix = "CONNECTOR_STATUS_"
	v, ok := chargeplanev1.ConnectorStatus_value[prefix+strings.TrimPrefix(strings.ToUpper(s), prefix)]
	if !ok || v == int32(chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_UNSPECIFIED) {
		return 0, &FieldError{Field: name, Reason: fmt.Sprintf("must be one of available, preparing, charging, finishing, faulted, offline, got %q", s)}
	}
	return chargeplanev1.ConnectorStatus(v), nil
}

// readJSON reads a JSON request body (empty is {}) into msg as protojson,
// which accepts both lowerCamelCase and the proto's snake_case names.
func readJSON(r *http.Request, msg proto.Message) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return &restError{status: http.StatusUnsupportedMediaType, code: connect.CodeInvalidArgument,
				msg: fmt.Sprintf("Content-Type %q: send application/json", ct)}
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, restMaxBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return &restError{status: http.StatusRequestEntityTooLarge, code: connect.CodeInvalidArgument,
			msg: fmt.Sprintf("request body over %d bytes", restMaxBody)}
	case err != nil:
		return fmt.Errorf("read request body: %w", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := protojson.Unmarshal(body, msg); err != nil {
		// protojson's text names the offending field or position in what
		// the client sent, nothing of ours.
		return &FieldError{Field: "body", Reason: "not a valid JSON request: " + err.Error()}
	}
	return nil
}

// restError is a refusal of the REST layer itself, before any service.
type restError struct {
	status int
	code   connect.Code
	msg    string
}

func (e *restError) Error() string { return e.msg }

// restErrorBody is every REST error response: the Connect code
// ("not_found") and a message written for the client.
type restErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// writeError answers err: a Connect error with its code's HTTP status
// (restStatus) and Retry-After passed through; a bad query or body with 400;
// anything else, which only a bug can produce, is logged and answered 500.
func (h *REST) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var (
		field  *FieldError
		refuse *restError
		cerr   *connect.Error
		body   restErrorBody
		status int
	)
	switch {
	case errors.As(err, &field):
		status, body = http.StatusBadRequest, restErrorBody{Code: connect.CodeInvalidArgument.String(), Message: field.Error()}
	case errors.As(err, &refuse):
		status, body = refuse.status, restErrorBody{Code: refuse.code.String(), Message: refuse.msg}
	case errors.As(err, &cerr):
		status, body = restStatus(cerr.Code()), restErrorBody{Code: cerr.Code().String(), Message: cerr.Message()}
		if v := cerr.Meta().Get("Retry-After"); v != "" {
			w.Header().Set("Retry-After", v)
		}
	default:
		h.logger.ErrorContext(r.Context(), "rest request failed", "path", r.URL.Path, "request_id", RequestID(r.Context()), "err", err)
		status, body = http.StatusInternalServerError, restErrorBody{Code: connect.CodeInternal.String(), Message: "internal error"}
	}
	if status == http.StatusUnauthorized {
		// RFC 6750 section 3: say which scheme authenticates.
		w.Header().Set("WWW-Authenticate", `Bearer realm="chargeplane"`)
	}
	out, _ := json.Marshal(body) // two strings always marshal
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

// restStatus is the HTTP status of a Connect code: the Connect protocol's
// own mapping (connectrpc.com/docs/protocol, "Error Codes"), so a REST and a
// Connect JSON client see the same status. FailedPrecondition is 400 there,
// not 412, which HTTP reserves for conditional request headers.
func restStatus(c connect.Code) int {
	switch c {
	case connect.CodeCanceled:
		return 499
	case connect.CodeInvalidArgument, connect.CodeFailedPrecondition, connect.CodeOutOfRange:
		return http.StatusBadRequest
	case connect.CodeDeadlineExceeded:
		return http.StatusGatewayTimeout
	case connect.CodeNotFound:
		return http.StatusNotFound
	case connect.CodeAlreadyExists, connect.CodeAborted:
		return http.StatusConflict
	case connect.CodePermissionDenied:
		return http.StatusForbidden
	case connect.CodeResourceExhausted:
		return http.StatusTooManyRequests
	case connect.CodeUnimplemented:
		return http.StatusNotImplemented
	case connect.CodeUnavailable:
		return http.StatusServiceUnavailable
	case connect.CodeUnauthenticated:
		return http.StatusUnauthorized
	default: // Unknown, Internal, DataLoss
		return http.StatusInternalServerError
	}
}

// inProcess is an http.RoundTripper that serves each request on handler in
// the calling goroutine and buffers the whole response: the REST face's
// Connect clients reach the services with no network hop, through the same
// interceptors as any other caller. Unary calls only: nothing is returned
// before the handler finishes.
type inProcess struct {
	handler http.Handler
}

func (t inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		// RoundTrip owns the body (http.RoundTripper).
		defer func() { _ = req.Body.Close() }()
	}
	sr := req.Clone(req.Context())
	sr.RequestURI = req.URL.RequestURI()
	sr.Proto, sr.ProtoMajor, sr.ProtoMinor = "HTTP/1.1", 1, 1
	if sr.Body == nil {
		sr.Body = http.NoBody
	}
	if addr, ok := req.Context().Value(remoteAddrKey{}).(string); ok {
		sr.RemoteAddr = addr
	}
	w := &bufferedResponse{header: http.Header{}}
	t.handler.ServeHTTP(w, sr)
	w.WriteHeader(http.StatusOK) // a no-op unless the handler wrote nothing
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", w.status, http.StatusText(w.status)),
		StatusCode:    w.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        w.sent,
		Body:          io.NopCloser(bytes.NewReader(w.body.Bytes())),
		ContentLength: int64(w.body.Len()),
		Request:       req,
	}, nil
}

// bufferedResponse is the http.ResponseWriter of an in-process call.
type bufferedResponse struct {
	header http.Header
	// sent is the header as it was when the status was written: later
	// changes are not part of the response, as on a network.
	sent   http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(status int) {
	if b.status != 0 {
		return
	}
	b.status, b.sent = status, b.header.Clone()
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	b.WriteHeader(http.StatusOK)
	return b.body.Write(p)
}

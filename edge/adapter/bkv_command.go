package adapter

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strconv"

	"github.com/chargeplane/chargeplane/edge/command"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"github.com/chargeplane/chargeplane/shared/protocol/bkv"
)

// bkvParamNames names the socket parameters of §7.9 for set_parameters and
// query_parameters. Values are decimal integers in wire units: seconds for
// the delays, 0.1 W for powers, minutes for the charge time, 0.001 A for the
// over-current limit. settable marks the keys the guide shows being set;
// the others were only seen in query replies.
var bkvParamNames = map[string]struct { //nolint:gochecknoglobals // read-only table
	key      bkv.ParamKey
	settable bool
}{
	"full_charge_continue_time":   {bkv.ParamFullChargeDelay, true},
	"no_load_delay":               {bkv.ParamNoLoadDelay, true},
	"full_charge_power_threshold": {bkv.ParamFullPowerThreshold, true},
	"no_load_power_threshold":     {bkv.ParamNoLoadPowerThreshold, true},
	"high_temperature_threshold":  {bkv.ParamHighTemperature, true},
	"power_limit":                 {bkv.ParamPowerLimit, true},
	"max_charge_time":             {bkv.ParamMaxChargeMinutes, true},
	"trickle_threshold":           {bkv.ParamTrickleThreshold, false},
	"over_current_limit":          {bkv.ParamOverCurrentLimit, false},
	"key_base_amount":             {bkv.ParamKeyBaseAmount, false},
	"anti_pulse_time":             {bkv.ParamAntiPulseTime, false},
}

func bkvParamName(k bkv.ParamKey) string {
	for name, p := range bkvParamNames {
		if p.key == k {
			return name
		}
	}
	return fmt.Sprintf("0x%02x", uint8(k))
}

// deliver hands a gateway reply to the command waiting for it, matched by
// frame command, sub-command or BKV command, and msg id (§4).
func (s *bkvSession) deliver(f *bkv.Frame) string {
	k := bkvReplyKey{command: f.Command, msgID: f.MsgID}
	switch m := f.Body.(type) {
	case interface{ SubCommand() uint8 }:
		k.sub = uint16(m.SubCommand())
	case interface{ BKVCommand() uint16 }:
		k.sub = m.BKVCommand()
	}
	if k.command == bkv.CommandNetwork {
		// Node-list replies are matched under 0x0005 and 0x0015 alike.
		k.command = bkv.CommandCharge
	}
	if !s.replies.deliver(k, f.Body) {
		s.log.Debug("reply without a waiting command", "msg_type", fmt.Sprintf("%T", f.Body), "msg_id", f.MsgID)
		return "late_reply"
	}
	return "reply"
}

// do carries one command to the gateway and waits for its reply.
func (s *bkvSession) do(ctx context.Context, cmd command.Command) (command.Result, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := context.AfterFunc(s.life, func() { cancel(errBKVSessionClosed) }) //nolint:contextcheck // the session's lifetime cancels the command's ctx, not the reverse
	defer stop()
	res, err := s.doKind(ctx, cmd)
	if err != nil && errors.Is(context.Cause(ctx), errBKVSessionClosed) {
		return res, fmt.Errorf("%w: connection closed while waiting for the reply", command.ErrNotConnected)
	}
	return res, err
}

// errBKVSessionClosed cancels commands of a session that ended.
var errBKVSessionClosed = errors.New("bkv session closed")

func (s *bkvSession) doKind(ctx context.Context, cmd command.Command) (command.Result, error) {
	switch cmd.Kind {
	case command.Start:
		return s.doStart(ctx, cmd)
	case command.Stop:
		socket, port, ok := bkvSocketPort(cmd.Connector)
		if !ok {
			return command.Result{}, fmt.Errorf("%w: connector %d", command.ErrInvalidCommand, cmd.Connector)
		}
		s.mu.Lock()
		ps := s.port(cmd.Connector)
		ps.stopBN, ps.stopping = ps.business, true
		if ps.business == 0 {
			ps.stopBN = ps.startedBN
		}
		s.mu.Unlock()
		r, res, err := bkvCall[*bkv.ControlResult](ctx, s, bkv.CommandCharge, &bkv.Control{Socket: socket, Port: port, Switch: bkv.SwitchOff})
		if r != nil {
			res = bkvResult(r.Result)
		}
		if err != nil || res.Status != command.ResultAccepted {
			s.mu.Lock()
			s.port(cmd.Connector).stopping = false
			s.mu.Unlock()
		}
		return res, err
	case command.Pair, command.Unpair:
		socket, mac, err := bkvNodeArgs(cmd)
		if err != nil {
			return command.Result{}, err
		}
		if cmd.Kind == command.Pair {
			r, res, err := bkvCall[*bkv.AddNodeResult](ctx, s, bkv.CommandNetwork, &bkv.AddNode{Socket: socket, MAC: mac})
			if r != nil {
				res = bkvResult(r.Result)
			}
			return res, err
		}
		r, res, err := bkvCall[*bkv.DeleteNodeResult](ctx, s, bkv.CommandNetwork, &bkv.DeleteNode{Socket: socket, MAC: mac})
		if r != nil {
			res = bkvResult(r.Result)
		}
		return res, err
	case command.QueryStatus:
		return s.doQueryStatus(ctx, cmd)
	case command.SetParameters, command.QueryParameters:
		return s.doParams(ctx, cmd)
	case command.OTA:
		return s.doOTA(ctx, cmd)
	default:
		return command.Result{}, fmt.Errorf("%w: %q", command.ErrUnsupported, cmd.Kind)
	}
}

// doStart starts a port with 0x07 by time or energy (§7.4). A nil limit is
// the longest the protocol allows: 900 minutes.
func (s *bkvSession) doStart(ctx context.Context, cmd command.Command) (command.Result, error) {
	socket, port, ok := bkvSocketPort(cmd.Connector)
	if !ok {
		return command.Result{}, fmt.Errorf("%w: connector %d", command.ErrInvalidCommand, cmd.Connector)
	}
	ctl := &bkv.Control{Socket: socket, Port: port, Switch: bkv.SwitchOn, Mode: bkv.ControlByTime, Minutes: 900}
	limit := cmd.Limit
	switch k := limit.GetKind().(type) {
	case nil:
		limit = &chargeplanev1.Limit{Kind: &chargeplanev1.Limit_DurationS{DurationS: 900 * 60}}
	case *chargeplanev1.Limit_DurationS:
		minutes := (k.DurationS + 59) / 60
		if minutes < 1 || minutes > 900 {
			return command.Result{}, fmt.Errorf("%w: duration %d s outside 1–900 minutes", command.ErrInvalidCommand, k.DurationS)
		}
		ctl.Minutes = uint16(minutes) //nolint:gosec // range checked
	case *chargeplanev1.Limit_EnergyMwh:
		wh := (k.EnergyMwh + 999) / 1000
		if wh < 1 || wh > 0xFFFF {
			return command.Result{}, fmt.Errorf("%w: energy %d mWh outside 1–65535 Wh", command.ErrInvalidCommand, k.EnergyMwh)
		}
		ctl.Mode, ctl.Minutes, ctl.Energy = bkv.ControlByEnergy, 0, uint16(wh) //nolint:gosec // range checked
	default:
		return command.Result{}, fmt.Errorf("%w: bkv 0x07 starts by time or energy only", command.ErrUnsupported)
	}
	r, res, err := bkvCall[*bkv.ControlResult](ctx, s, bkv.CommandCharge, ctl)
	if r == nil {
		return res, err
	}
	res = bkvResult(r.Result)
	if r.Result != bkv.ResultOK {
		return res, nil
	}
	res.SessionRef = bkvSessionRef(r.BusinessNo)
	now := s.a.deps.Now()
	s.mu.Lock()
	ps := s.port(cmd.Connector)
	ps.startedBN, ps.startedAt = r.BusinessNo, now
	s.mu.Unlock()
	ev := event(now, protoBKV, s.chargerID, cmd.Connector)
	ev.Kind = &chargeplanev1.Event_SessionStarted{SessionStarted: &chargeplanev1.SessionStarted{
		SessionRef: res.SessionRef, AuthMethod: "remote", Limit: limit,
	}}
	if err := s.a.deps.Store.Append(ctx, ev); err != nil {
		return res, fmt.Errorf("store session started: %w", err)
	}
	return res, nil
}

// doQueryStatus asks one socket for its ports (0x1D). The guide's gateway
// answers 0x1C; the captured one sends a 0x1017 report instead (§7.3), which
// the session loop also delivers here.
func (s *bkvSession) doQueryStatus(ctx context.Context, cmd command.Command) (command.Result, error) {
	socket, err := bkvSocketArg(cmd)
	if err != nil {
		return command.Result{}, err
	}
	id := s.newMsgID()
	s.mu.Lock()
	s.statusWaiter[socket] = id
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if s.statusWaiter[socket] == id {
			delete(s.statusWaiter, socket)
		}
		s.mu.Unlock()
	}()
	r, res, err := bkvCallID[*bkv.StatusQueryReply](ctx, s, bkv.CommandCharge, id, uint16(bkv.SubStatusReply), &bkv.StatusQuery{Socket: socket})
	if r == nil {
		return res, err
	}
	res = command.Result{Status: command.ResultAccepted, Values: map[string]string{
		"socket_firmware": fmt.Sprintf("%04x", r.SocketFirmware), "temperature": strconv.Itoa(int(r.Temperature)),
		"rssi": strconv.Itoa(int(r.RSSI)),
	}}
	for _, p := range r.Ports {
		c := strconv.Itoa(int(bkvConnector(r.Socket, p.Port)))
		res.Values["connector_"+c+"_status"] = bkvStatus(p.Status, p.BusinessNo).String()
		res.Values["connector_"+c+"_raw_status"] = p.Status.String()
		res.Values["connector_"+c+"_session_ref"] = bkvSessionRef(p.BusinessNo)
	}
	return res, nil
}

// doParams sets or reads socket parameters with 0x1000/0x1011 and 0x1012 (§7.9).
func (s *bkvSession) doParams(ctx context.Context, cmd command.Command) (command.Result, error) {
	socket, err := bkvSocketArg(cmd)
	if err != nil {
		return command.Result{}, err
	}
	id := s.newMsgID()
	if cmd.Kind == command.QueryParameters {
		r, res, err := bkvCallID[*bkv.ParamQueryResult](ctx, s, bkv.CommandBKV, id, bkv.BKVParamQuery, &bkv.ParamQuery{Seq: uint64(id), Socket: socket})
		if r == nil {
			return res, err
		}
		res = bkvResult(r.Result)
		res.Values = make(map[string]string, len(r.Params))
		for _, p := range r.Params {
			res.Values[bkvParamName(p.Key)] = strconv.FormatUint(uint64(p.Value), 10)
		}
		return res, nil
	}
	var params []bkv.Param
	for name, v := range cmd.Params {
		if name == "socket" {
			continue
		}
		p, ok := bkvParamNames[name]
		if !ok || !p.settable {
			return command.Result{}, fmt.Errorf("%w: parameter %q cannot be set", command.ErrInvalidCommand, name)
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n >= 1<<(8*p.key.Size()) {
			return command.Result{}, fmt.Errorf("%w: parameter %q = %q: not an integer of %d bytes", command.ErrInvalidCommand, name, v, p.key.Size())
		}
		params = append(params, bkv.Param{Key: p.key, Value: uint32(n)})
	}
	if len(params) == 0 {
		return command.Result{}, fmt.Errorf("%w: no parameters to set", command.ErrInvalidCommand)
	}
	sort.Slice(params, func(i, j int) bool { return params[i].Key < params[j].Key })
	r, res, err := bkvCallID[*bkv.ParamSetResult](ctx, s, bkv.CommandBKV, id, bkv.BKVParamSet, &bkv.ParamSet{Seq: uint64(id), Socket: socket, Params: params})
	if r != nil {
		res = bkvResult(r.Result)
	}
	return res, err
}

// doOTA tells the gateway to fetch firmware over FTP (0x0007, §6.3). The
// protocol documents no reply, so the command is accepted once written.
func (s *bkvSession) doOTA(ctx context.Context, cmd command.Command) (command.Result, error) {
	server, err := netip.ParseAddrPort(cmd.Params["server"])
	if err != nil || !server.Addr().Is4() {
		return command.Result{}, fmt.Errorf("%w: server %q: want IPv4 host:port", command.ErrInvalidCommand, cmd.Params["server"])
	}
	file := cmd.Params["file"]
	if file == "" || len(file) > 13 {
		return command.Result{}, fmt.Errorf("%w: file %q: want 1–13 ASCII bytes", command.ErrInvalidCommand, file)
	}
	for i := range len(file) {
		if file[i] < 0x20 || file[i] > 0x7e {
			return command.Result{}, fmt.Errorf("%w: file %q: want ASCII", command.ErrInvalidCommand, file)
		}
	}
	frame, err := bkv.Append(nil, &bkv.Frame{Direction: bkv.Down, Command: bkv.CommandOTA, MsgID: s.newMsgID(), GatewayID: s.gatewayID,
		Body: &bkv.OTA{Target: bkv.OTATargetGateway, Server: server, File: file}})
	if err != nil {
		return command.Result{}, fmt.Errorf("%w: %w", command.ErrInvalidCommand, err)
	}
	if err := ctx.Err(); err != nil {
		return command.Result{}, fmt.Errorf("ota: %w", err)
	}
	if err := writeFrame(s.a.deps, s.c, protoBKV, frame); err != nil {
		return command.Result{}, fmt.Errorf("send ota: %w", err)
	}
	return command.Result{Status: command.ResultAccepted, Detail: "sent; bkv defines no OTA reply"}, nil
}

// bkvCall sends body under command with a fresh msg id and waits for the
// reply of type R (same sub-command, §4).
func bkvCall[R bkv.Message](ctx context.Context, s *bkvSession, cmdCode uint16, body interface {
	bkv.Message
	SubCommand() uint8
},
) (R, command.Result, error) {
	return bkvCallID[R](ctx, s, cmdCode, s.newMsgID(), uint16(body.SubCommand()), body)
}

// bkvCallID sends body with msg id id and waits for the reply keyed by
// (command, sub, id), resending the same frame on timeout. A reply of the
// wrong type is a rejected result; no reply at all is a timed_out result.
func bkvCallID[R bkv.Message](ctx context.Context, s *bkvSession, cmdCode uint16, id uint32, sub uint16, body bkv.Message) (R, command.Result, error) {
	var zero R
	frame, err := bkv.Append(nil, &bkv.Frame{Direction: bkv.Down, Command: cmdCode, MsgID: id, GatewayID: s.gatewayID, Body: body})
	if err != nil {
		return zero, command.Result{}, fmt.Errorf("%w: %w", command.ErrInvalidCommand, err)
	}
	key := bkvReplyKey{command: cmdCode, sub: sub, msgID: id}
	if key.command == bkv.CommandNetwork {
		key.command = bkv.CommandCharge
	}
	ch, forget := s.replies.expect(key)
	defer forget()
	sends := 0
	send := func() error {
		sends++
		if sends > 1 {
			s.log.Warn("resending unanswered command", "msg_type", fmt.Sprintf("%T", body), "msg_id", id, "try", sends)
		}
		if err := writeFrame(s.a.deps, s.c, protoBKV, frame); err != nil {
			return fmt.Errorf("send command: %w", err)
		}
		return nil
	}
	reply, err := sendAndWait(ctx, send, ch, s.a.deps.CommandTimeout, s.a.deps.CommandRetries)
	if errors.Is(err, errTimedOut) {
		return zero, command.Result{Status: command.ResultTimedOut, Detail: err.Error()}, nil
	}
	if err != nil {
		return zero, command.Result{}, err
	}
	r, ok := reply.(R)
	if !ok {
		return zero, command.Result{Status: command.ResultRejected, Detail: fmt.Sprintf("unexpected reply %T", reply)}, nil
	}
	return r, command.Result{}, nil
}

func bkvResult(r bkv.Result) command.Result {
	if r == bkv.ResultOK {
		return command.Result{Status: command.ResultAccepted}
	}
	return command.Result{Status: command.ResultRejected, Detail: "gateway answered result 0"}
}

// bkvSocketArg is the socket of a per-socket command: Params "socket", or
// the socket of cmd.Connector.
func bkvSocketArg(cmd command.Command) (uint8, error) {
	if v, ok := cmd.Params["socket"]; ok {
		n, err := strconv.ParseUint(v, 10, 8)
		if err != nil || n < 1 || n > 250 {
			return 0, fmt.Errorf("%w: socket %q: want 1–250", command.ErrInvalidCommand, v)
		}
		return uint8(n), nil
	}
	socket, _, ok := bkvSocketPort(cmd.Connector)
	if !ok {
		return 0, fmt.Errorf("%w: want a connector or a socket parameter", command.ErrInvalidCommand)
	}
	return socket, nil
}

// bkvNodeArgs reads "socket" (1–250) and "mac" (12 hex digits) of pair and unpair.
func bkvNodeArgs(cmd command.Command) (uint8, bkv.MAC, error) {
	var mac bkv.MAC
	if _, ok := cmd.Params["socket"]; !ok {
		return 0, mac, fmt.Errorf("%w: socket parameter required", command.ErrInvalidCommand)
	}
	socket, err := bkvSocketArg(cmd)
	if err != nil {
		return 0, mac, err
	}
	b, err := hex.DecodeString(cmd.Params["mac"])
	if err != nil || len(b) != len(mac) {
		return 0, mac, fmt.Errorf("%w: mac %q: want 12 hex digits", command.ErrInvalidCommand, cmd.Params["mac"])
	}
	copy(mac[:], b)
	return socket, mac, nil
}

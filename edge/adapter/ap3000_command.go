package adapter

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/chargeplane/chargeplane/edge/command"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"github.com/chargeplane/chargeplane/shared/protocol/ap3000"
)

// do carries one command to the device (see AP3000 for the kinds). A command
// the device never answers within the retries is a timed_out result, not an
// error.
func (s *ap3000Session) do(ctx context.Context, cmd command.Command) (command.Result, error) {
	var (
		res command.Result
		err error
	)
	switch cmd.Kind {
	case command.Start:
		res, err = s.start(ctx, cmd, "remote", "")
	case command.Stop:
		res, err = s.stop(ctx, cmd)
	case command.QueryStatus:
		res, err = s.queryStatus(ctx)
	case command.QueryParameters:
		res, err = s.queryParams(ctx)
	case command.SetParameters:
		res, err = s.setParams(ctx, cmd.Params)
	case command.Reboot:
		res, err = s.reboot(ctx)
	default:
		return command.Result{}, fmt.Errorf("%w: %q", command.ErrUnsupported, cmd.Kind)
	}
	if errors.Is(err, errTimedOut) {
		return command.Result{Status: command.ResultTimedOut, Detail: err.Error()}, nil
	}
	return res, err
}

// exchange sends body with a fresh message id and waits for the device's
// reply with the same command and id, resending the same bytes on timeout
// (§1, §4). It gives up when the session ends.
func (s *ap3000Session) exchange(ctx context.Context, body ap3000.Message) (*ap3000.Frame, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.ctx, cancel)()
	id := s.newMessageID()
	defer s.releaseMessageID(id)
	frame, err := ap3000.Append(nil, &ap3000.Frame{PhysicalID: s.phy, MessageID: id, Body: body})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", command.ErrInvalidCommand, err)
	}
	reply, forget := s.corr.expect(apCorrKey{body.Command(), id})
	defer forget()
	return sendAndWait(ctx, func() error { return s.send(ctx, frame) }, reply, s.a.deps.CommandTimeout, s.a.deps.CommandRetries)
}

// reboot sends 0x87 once and waits for the device's best-effort answer
// (§5): resending could reboot a device that already restarted.
func (s *ap3000Session) reboot(ctx context.Context) (command.Result, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.ctx, cancel)()
	id := s.newMessageID()
	defer s.releaseMessageID(id)
	frame, err := ap3000.Append(nil, &ap3000.Frame{PhysicalID: s.phy, MessageID: id, Body: &ap3000.Reboot{}})
	if err != nil {
		return command.Result{}, fmt.Errorf("encode reboot: %w", err)
	}
	reply, forget := s.corr.expect(apCorrKey{ap3000.CmdReboot, id})
	defer forget()
	f, err := sendAndWait(ctx, func() error { return s.send(ctx, frame) }, reply, s.a.deps.CommandTimeout, 0)
	if err != nil {
		return command.Result{}, err
	}
	if r, ok := f.Body.(*ap3000.RebootReply); !ok || r.Answer != ap3000.AnswerOK {
		return command.Result{Status: command.ResultRejected, Detail: fmt.Sprintf("reboot refused: %v", f.Body)}, nil
	}
	return command.Result{Status: command.ResultAccepted}, nil
}

// send writes one command frame, at least ap3000CommandGap after the last.
func (s *ap3000Session) send(ctx context.Context, frame []byte) error {
	s.paceMu.Lock()
	defer s.paceMu.Unlock()
	if wait := time.Until(s.lastSent.Add(ap3000CommandGap)); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("waiting to send: %w", ctx.Err())
		case <-t.C:
		}
	}
	s.lastSent = time.Now()
	return writeFrame(s.a.deps, s.c, protoAP3000, frame)
}

// newMessageID returns an id no outstanding command of this session uses.
func (s *ap3000Session) newMessageID() uint16 {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		s.nextID++
		if s.nextID != 0 && !s.outstanding[s.nextID] {
			s.outstanding[s.nextID] = true
			return s.nextID
		}
	}
}

func (s *ap3000Session) releaseMessageID(id uint16) {
	s.mu.Lock()
	delete(s.outstanding, id)
	s.mu.Unlock()
}

// newOrderNo composes the 16-byte order number of an online start; the
// device returns it unchanged in 0x06 and 0x03 (§7.3). Layout: physical id
// (4, LE), Unix nanoseconds (8, BE), port (1), per-session counter (3, BE).
func (s *ap3000Session) newOrderNo(port uint8) ap3000.OrderNo {
	s.mu.Lock()
	s.orderSeq++
	seq := s.orderSeq
	s.mu.Unlock()
	var o ap3000.OrderNo
	binary.LittleEndian.PutUint32(o[0:4], uint32(s.phy))
	binary.BigEndian.PutUint64(o[4:12], uint64(s.a.deps.Now().UnixNano()))
	o[12] = port
	o[13], o[14], o[15] = byte(seq>>16), byte(seq>>8), byte(seq)
	return o
}

// apPortOf maps a connector to its 0-based port (connector = port + 1).
func apPortOf(connector uint32) (uint8, error) {
	if connector < 1 || connector > 0xFE {
		return 0, fmt.Errorf("%w: connector %d out of range", command.ErrInvalidCommand, connector)
	}
	return uint8(connector - 1), nil
}

// apLimitOf maps a neutral limit to the 0x82 rate mode and value (§7.3):
// a duration in seconds (timed), energy in 0.01 kWh rounded up (metered),
// nil for "until full".
func apLimitOf(l *chargeplanev1.Limit) (ap3000.RateMode, uint16, error) {
	switch k := l.GetKind().(type) {
	case nil:
		return ap3000.RateTimed, 0, nil
	case *chargeplanev1.Limit_DurationS:
		if k.DurationS < 1 || k.DurationS > 0xFFFF {
			return 0, 0, fmt.Errorf("%w: duration %d s out of 1–65535", command.ErrInvalidCommand, k.DurationS)
		}
		return ap3000.RateTimed, uint16(k.DurationS), nil
	case *chargeplanev1.Limit_EnergyMwh:
		v := (k.EnergyMwh + 9999) / 10000
		if k.EnergyMwh < 1 || v > 0xFFFF {
			return 0, 0, fmt.Errorf("%w: energy %d mWh out of range", command.ErrInvalidCommand, k.EnergyMwh)
		}
		return ap3000.RateMetered, uint16(v), nil
	default:
		return 0, 0, fmt.Errorf("%w: ap3000 starts take a duration or energy limit only", command.ErrInvalidCommand)
	}
}

// start sends 0x82 start and, when the device accepts, stores SessionStarted
// and remembers the order number for a later stop.
func (s *ap3000Session) start(ctx context.Context, cmd command.Command, authMethod, card string) (command.Result, error) {
	port := uint8(0xFF) // device picks (§7.2)
	if cmd.Connector != 0 {
		p, err := apPortOf(cmd.Connector)
		if err != nil {
			return command.Result{}, err
		}
		port = p
	}
	rate, value, err := apLimitOf(cmd.Limit)
	if err != nil {
		return command.Result{}, err
	}
	order := s.newOrderNo(port)
	f, err := s.exchange(ctx, &ap3000.Charge{RateMode: rate, Port: port, Action: ap3000.ActionStart, DurationOrEnergy: value, OrderNo: order})
	if err != nil {
		return command.Result{}, err
	}
	r, ok := f.Body.(*ap3000.ChargeReply)
	if !ok {
		return command.Result{}, fmt.Errorf("unexpected reply %T", f.Body)
	}
	if !apChargeExecuted(r.Answer) {
		return command.Result{Status: command.ResultRejected, Detail: r.Answer.String()}, nil
	}
	if r.Port != nil {
		port = *r.Port
	}
	if r.OrderNo != nil {
		order = *r.OrderNo
	}
	connector := uint32(0)
	if port != 0xFF {
		connector = uint32(port) + 1
		s.mu.Lock()
		p := s.port(port)
		p.orderNo, p.hasOrder = order, true
		s.mu.Unlock()
	}
	res := command.Result{Status: command.ResultAccepted, SessionRef: order.String()}
	if r.Answer != ap3000.ChargeOK {
		res.Detail = r.Answer.String()
	}
	ev := event(s.a.deps.Now(), protoAP3000, s.chargerID, connector)
	ev.Kind = &chargeplanev1.Event_SessionStarted{SessionStarted: &chargeplanev1.SessionStarted{
		SessionRef: res.SessionRef, AuthMethod: authMethod, CardId: card, Limit: cmd.Limit,
	}}
	if err := storeFinal(ctx, s.a.deps.Store, s.a.deps.StoreTimeout, ev); err != nil {
		return res, fmt.Errorf("store session started: %w", err)
	}
	return res, nil
}

// apChargeExecuted reports whether the device carried out a 0x82: answers 3
// and 9 report a fault although the command was executed (§8).
func apChargeExecuted(r ap3000.ChargeResult) bool {
	return r == ap3000.ChargeOK || r == ap3000.ChargePortFault || r == ap3000.ChargeRelayWelded
}

// stop sends 0x82 stop with the running session's order number: the one
// given as Params["session_ref"] (32 hex digits) or the one this session
// last saw on the connector. A wrong one is ignored by the device (§7.3).
func (s *ap3000Session) stop(ctx context.Context, cmd command.Command) (command.Result, error) {
	port, err := apPortOf(cmd.Connector)
	if err != nil {
		return command.Result{}, err
	}
	var order ap3000.OrderNo
	if ref := cmd.Params["session_ref"]; ref != "" {
		b, err := hex.DecodeString(ref)
		if err != nil || len(b) != len(order) {
			return command.Result{}, fmt.Errorf("%w: session_ref %q is not 32 hex digits", command.ErrInvalidCommand, ref)
		}
		copy(order[:], b)
	} else {
		s.mu.Lock()
		p := s.ports[port]
		ok := p != nil && p.hasOrder
		if ok {
			order = p.orderNo
		}
		s.mu.Unlock()
		if !ok {
			return command.Result{}, fmt.Errorf("%w: no running session known on connector %d; give session_ref", command.ErrInvalidCommand, cmd.Connector)
		}
	}
	f, err := s.exchange(ctx, &ap3000.Charge{Port: port, Action: ap3000.ActionStop, OrderNo: order})
	if err != nil {
		return command.Result{}, err
	}
	r, ok := f.Body.(*ap3000.ChargeReply)
	if !ok {
		return command.Result{}, fmt.Errorf("unexpected reply %T", f.Body)
	}
	if !apChargeExecuted(r.Answer) {
		return command.Result{Status: command.ResultRejected, Detail: r.Answer.String(), SessionRef: order.String()}, nil
	}
	return command.Result{Status: command.ResultAccepted, SessionRef: order.String()}, nil
}

// queryStatus sends 0x81, which has no reply of its own: the device answers
// with its registration and heartbeats (§5), and the next heartbeat is the
// result.
func (s *ap3000Session) queryStatus(ctx context.Context) (command.Result, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.ctx, cancel)()
	ch := make(chan *ap3000.Frame, 1)
	s.mu.Lock()
	s.statusWait = append(s.statusWait, ch)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		for i, w := range s.statusWait {
			if w == ch {
				s.statusWait = append(s.statusWait[:i], s.statusWait[i+1:]...)
				break
			}
		}
		s.mu.Unlock()
	}()
	id := s.newMessageID()
	defer s.releaseMessageID(id)
	frame, err := ap3000.Append(nil, &ap3000.Frame{PhysicalID: s.phy, MessageID: id, Body: &ap3000.QueryDevice{}})
	if err != nil {
		return command.Result{}, fmt.Errorf("encode query: %w", err)
	}
	f, err := sendAndWait(ctx, func() error { return s.send(ctx, frame) }, ch, s.a.deps.CommandTimeout, s.a.deps.CommandRetries)
	if err != nil {
		return command.Result{}, err
	}
	v := map[string]string{}
	var statuses []ap3000.PortStatus
	switch m := f.Body.(type) {
	case *ap3000.Heartbeat:
		v["voltage_mv"] = strconv.Itoa(int(m.Voltage) * 100)
		v["signal"] = strconv.Itoa(int(m.Signal))
		if c, ok := m.Temperature.Celsius(); ok {
			v["temperature_c"] = strconv.Itoa(c)
		}
		statuses = m.Ports
	case *ap3000.OldHeartbeat:
		v["voltage_mv"] = strconv.Itoa(int(m.Voltage) * 100)
		v["signal"] = strconv.Itoa(int(m.Signal))
		for i, p := range m.Ports {
			statuses = append(statuses, p.Status)
			v[fmt.Sprintf("connector_%d_power_mw", i+1)] = strconv.Itoa(int(p.Power) * 100)
		}
	}
	v["connectors"] = strconv.Itoa(len(statuses))
	for i, st := range statuses {
		name := chargeplanev1.ConnectorStatus_name[int32(apConnectorStatusOf(st))]
		v[fmt.Sprintf("connector_%d_status", i+1)] = name
		v[fmt.Sprintf("connector_%d_raw_status", i+1)] = fmt.Sprintf("0x%02x", uint8(st))
	}
	return command.Result{Status: command.ResultAccepted, Values: v}, nil
}

// The parameters query_parameters returns and set_parameters accepts: the
// run parameters 1.1 (0x83 / 0x90) and the limits (0x85 / 0x92), §7.2.
// Power fields of unclear unit stay raw (§7.2 note); the 0x85 overload power
// is 0.1 W and the voltages 0.1 V, given here in milli-units.
var ap3000ParamNames = map[string]int{ //nolint:gochecknoglobals // read-only table
	"unplug_power_raw": 1, "unplug_detect_time_s": 1, "float_percent": 1,
	"float_detect_time_s": 1, "float_time_s": 1, "heartbeat_interval_s": 1,
	"max_charge_time_s": 2, "overload_power_mw": 2, "over_voltage_mv": 2, "under_voltage_mv": 2,
}

func apRunParamsValues(p ap3000.RunParams1, v map[string]string) {
	v["unplug_power_raw"] = strconv.Itoa(int(p.UnplugPower))
	v["unplug_detect_time_s"] = strconv.Itoa(int(p.UnplugDetectTime))
	v["float_percent"] = strconv.Itoa(int(p.FloatPercent))
	v["float_detect_time_s"] = strconv.Itoa(int(p.FloatDetectTime))
	v["float_time_s"] = strconv.Itoa(int(p.FloatTime))
	v["heartbeat_interval_s"] = strconv.Itoa(int(p.HeartbeatInterval))
}

func apLimitsValues(p ap3000.Limits, v map[string]string) {
	v["max_charge_time_s"] = strconv.Itoa(int(p.MaxChargeTime))
	v["overload_power_mw"] = strconv.Itoa(int(p.OverloadPower) * 100)
	if p.OverVoltage != nil {
		v["over_voltage_mv"] = strconv.Itoa(int(*p.OverVoltage) * 100)
	}
	if p.UnderVoltage != nil {
		v["under_voltage_mv"] = strconv.Itoa(int(*p.UnderVoltage) * 100)
	}
}

func (s *ap3000Session) readRunParams(ctx context.Context) (ap3000.RunParams1, error) {
	f, err := s.exchange(ctx, &ap3000.QueryRunParams1{})
	if err != nil {
		return ap3000.RunParams1{}, err
	}
	r, ok := f.Body.(*ap3000.RunParams1Report)
	if !ok {
		return ap3000.RunParams1{}, fmt.Errorf("unexpected reply %T", f.Body)
	}
	return r.Params, nil
}

func (s *ap3000Session) readLimits(ctx context.Context) (ap3000.Limits, error) {
	f, err := s.exchange(ctx, &ap3000.QueryLimits{})
	if err != nil {
		return ap3000.Limits{}, err
	}
	r, ok := f.Body.(*ap3000.LimitsReport)
	if !ok {
		return ap3000.Limits{}, fmt.Errorf("unexpected reply %T", f.Body)
	}
	return r.Params, nil
}

func (s *ap3000Session) queryParams(ctx context.Context) (command.Result, error) {
	rp, err := s.readRunParams(ctx)
	if err != nil {
		return command.Result{}, err
	}
	lim, err := s.readLimits(ctx)
	if err != nil {
		return command.Result{}, err
	}
	v := map[string]string{}
	apRunParamsValues(rp, v)
	apLimitsValues(lim, v)
	return command.Result{Status: command.ResultAccepted, Values: v}, nil
}

// apParamValue parses a set_parameters value: a decimal integer that, divided
// by div, fits 16 bits (or 8 for float_percent) exactly.
func apParamValue(name, text string, div, maxV int) (uint16, error) {
	n, err := strconv.Atoi(text)
	if err != nil || n < 0 || n%div != 0 || n/div > maxV {
		return 0, fmt.Errorf("%w: parameter %s=%q", command.ErrInvalidCommand, name, text)
	}
	return uint16(n / div), nil
}

// setParams reads the groups the parameters belong to, changes the given
// values and writes each group back (0x83 / 0x85 set whole groups).
func (s *ap3000Session) setParams(ctx context.Context, params map[string]string) (command.Result, error) {
	if len(params) == 0 {
		return command.Result{}, fmt.Errorf("%w: no parameters", command.ErrInvalidCommand)
	}
	groups := map[int]bool{}
	names := make([]string, 0, len(params))
	for name := range params {
		g, ok := ap3000ParamNames[name]
		if !ok {
			return command.Result{}, fmt.Errorf("%w: unknown parameter %q", command.ErrInvalidCommand, name)
		}
		groups[g] = true
		names = append(names, name)
	}
	sort.Strings(names)
	// Parse everything before sending anything.
	parsed := map[string]uint16{}
	for _, name := range names {
		div, maxV := 1, 0xFFFF
		switch name {
		case "overload_power_mw", "over_voltage_mv", "under_voltage_mv":
			div = 100
		case "float_percent":
			maxV = 0xFF
		}
		n, err := apParamValue(name, params[name], div, maxV)
		if err != nil {
			return command.Result{}, err
		}
		parsed[name] = n
	}
	v := map[string]string{}
	if groups[1] {
		rp, err := s.readRunParams(ctx)
		if err != nil {
			return command.Result{}, err
		}
		for name, n := range parsed {
			switch name {
			case "unplug_power_raw":
				rp.UnplugPower = n
			case "unplug_detect_time_s":
				rp.UnplugDetectTime = n
			case "float_percent":
				rp.FloatPercent = uint8(n)
			case "float_detect_time_s":
				rp.FloatDetectTime = n
			case "float_time_s":
				rp.FloatTime = n
			case "heartbeat_interval_s":
				rp.HeartbeatInterval = n
			}
		}
		f, err := s.exchange(ctx, &ap3000.SetRunParams1{Params: rp})
		if err != nil {
			return command.Result{}, err
		}
		if r, ok := f.Body.(*ap3000.SetRunParams1Reply); !ok || r.Answer != ap3000.AnswerOK {
			return command.Result{Status: command.ResultRejected, Detail: fmt.Sprintf("run parameters refused: %v", f.Body)}, nil
		}
		apRunParamsValues(rp, v)
	}
	if groups[2] {
		lim, err := s.readLimits(ctx)
		if err != nil {
			return command.Result{}, err
		}
		for name, n := range parsed {
			switch name {
			case "max_charge_time_s":
				lim.MaxChargeTime = n
			case "overload_power_mw":
				lim.OverloadPower = n
			case "over_voltage_mv", "under_voltage_mv":
				// Both voltages are optional together on the wire (§7.2).
				if lim.OverVoltage == nil || lim.UnderVoltage == nil {
					return command.Result{Status: command.ResultRejected, Detail: "device firmware has no voltage limits"}, nil
				}
				if name == "over_voltage_mv" {
					lim.OverVoltage = &n
				} else {
					lim.UnderVoltage = &n
				}
			}
		}
		f, err := s.exchange(ctx, &ap3000.SetLimits{Params: lim})
		if err != nil {
			return command.Result{}, err
		}
		if r, ok := f.Body.(*ap3000.SetLimitsReply); !ok || r.Answer != ap3000.AnswerOK {
			return command.Result{Status: command.ResultRejected, Detail: fmt.Sprintf("limits refused: %v", f.Body)}, nil
		}
		apLimitsValues(lim, v)
	}
	return command.Result{Status: command.ResultAccepted, Values: v}, nil
}

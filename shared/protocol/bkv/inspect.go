package bkv

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Inspect decodes one whole frame and returns its fields under the names
// used in the vectors' expect objects (§15), for the frame-inspection tool
// and raw-frame logs. Physical values are converted from wire units to the
// units the names carry (voltage_v, power_w, current_a, energy_wh,
// charge_min, amount_fen); ids and codes are strings. Besides the vector
// fields it adds "direction" and "message" (the Go type name).
//
// dir is "up", "down" or "". The header always says who sent a BKV frame,
// so "" infers the direction from it, and a dir that contradicts the header
// is an ErrDirection error. Every error is an *Error.
func Inspect(frame []byte, dir string) (map[string]any, error) {
	if dir != "" && dir != "up" && dir != "down" {
		return nil, errAt(0, "direction", fmt.Errorf("%w: %q is not up, down or empty", ErrBadValue, dir))
	}
	f, err := Decode(frame)
	if err != nil {
		return nil, err
	}
	if dir != "" && dir != f.Direction.String() {
		return nil, errAt(1, "header", fmt.Errorf("%w: the header says %v, %s was given", ErrDirection, f.Direction, dir))
	}
	out := map[string]any{
		"direction":   f.Direction.String(),
		"message":     strings.TrimPrefix(fmt.Sprintf("%T", f.Body), "*bkv."),
		"command":     fmt.Sprintf("0x%04x", f.Command),
		"length":      int(binary.BigEndian.Uint16(frame[2:])),
		"msg_id":      fmt.Sprintf("%08x", f.MsgID),
		"packet_type": int(frame[10]),
		"gateway_id":  f.GatewayID.String(),
		"checksum":    fmt.Sprintf("0x%02x", frame[len(frame)-3]),
	}
	switch m := f.Body.(type) {
	case subMessage:
		out["inner_length"] = int(binary.BigEndian.Uint16(frame[payloadOff:]))
		out["sub_command"] = fmt.Sprintf("0x%02x", m.SubCommand())
	case kvMessage:
		out["bkv_command"] = fmt.Sprintf("0x%04x", m.BKVCommand())
		out["bkv_seq"] = fmt.Sprintf("%016x", *m.seq())
		out["bkv_gateway_id"] = f.GatewayID.String()
		out["kv"] = inspectItems(frame)
	}
	inspectBody(out, f.Body)
	return out, nil
}

// inspectItems lists the top-level items after the fixed head as
// {"key": "0x4a", "value": "02"} (§15). Decode has already parsed them.
func inspectItems(frame []byte) []any {
	l := kvList{b: frame[:len(frame)-3], off: payloadOff}
	var list []any
	for i := 0; ; i++ {
		it, ok, err := l.next()
		if err != nil || !ok {
			return list
		}
		if i >= 3 {
			list = append(list, itemMap(it.item()))
		}
	}
}

func itemMap(it Item) map[string]any {
	return map[string]any{"key": it.KeyString(), "value": hex.EncodeToString(it.Value)}
}

func extraList(extra []Extra) []any {
	list := make([]any, len(extra))
	for i, e := range extra {
		list[i] = itemMap(e.Item)
	}
	return list
}

func deci(v uint16) float64  { return float64(v) / 10 }
func milli(v uint16) float64 { return float64(v) / 1000 }

func wallTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.DateTime)
}

func inspectBody(out map[string]any, body Message) {
	switch m := body.(type) {
	case *Heartbeat:
		out["iccid"] = m.ICCID
		out["firmware"] = m.Firmware
		out["signal"] = int(m.Signal)
	case *HeartbeatReply:
		out["server_time"] = wallTime(m.Time)
	case *OTA:
		out["target"] = int(m.Target)
		out["ftp_ip"] = m.Server.Addr().String()
		out["ftp_port"] = int(m.Server.Port())
		out["filename"] = m.File
	case *Raw:
		out["payload"] = hex.EncodeToString(m.Payload)

	case *NodeList:
		out["channel"] = int(m.Channel)
		nodes := make([]any, len(m.Nodes))
		for i, n := range m.Nodes {
			nodes[i] = map[string]any{"socket_no": int(n.Socket), "mac": n.MAC.String()}
		}
		out["nodes"] = nodes
	case *AddNode:
		out["socket_no"] = int(m.Socket)
		out["mac"] = m.MAC.String()
	case *DeleteNode:
		out["socket_no"] = int(m.Socket)
		out["mac"] = m.MAC.String()
	case *NodeListResult:
		out["result"] = int(m.Result)
	case *AddNodeResult:
		out["result"] = int(m.Result)
	case *DeleteNodeResult:
		out["result"] = int(m.Result)
	case *StatusQuery:
		out["socket_no"] = int(m.Socket)
	case *StatusQueryReply:
		out["socket_no"] = int(m.Socket)
		out["socket_version"] = fmt.Sprintf("%04x", m.SocketFirmware)
		out["temperature"] = int(m.Temperature)
		out["rssi"] = int(m.RSSI)
		out["ports"] = portList(m.Ports)
	case *Control:
		out["socket_no"] = int(m.Socket)
		out["port"] = int(m.Port)
		out["switch"] = int(m.Switch)
		out["mode"] = int(m.Mode)
		out["duration_min"] = int(m.Minutes)
		out["energy_wh"] = int(m.Energy)
	case *ControlResult:
		out["result"] = int(m.Result)
		out["socket_no"] = int(m.Socket)
		out["port"] = int(m.Port)
		out["business_no"] = int(m.BusinessNo)
	case *PowerTierStart:
		out["socket_no"] = int(m.Socket)
		out["port"] = int(m.Port)
		out["switch"] = int(m.Switch)
		out["amount_fen"] = int(m.Amount)
		out["tier_count"] = len(m.Tiers)
		out["tiers"] = tierList(m.Tiers)
	case *PowerTierStartResult:
		out["result"] = int(m.Result)
		out["socket_no"] = int(m.Socket)
		out["port"] = int(m.Port)
		out["business_no"] = int(m.BusinessNo)
	case *ChargeEnd:
		endHeadFields(out, &m.EndHead)
	case *PowerTierEnd:
		endHeadFields(out, &m.EndHead)
		out["end_time"] = wallTime(m.EndTime)
		out["end_reason"] = int(m.EndReason)
		out["amount_fen"] = int(m.Amount)
		out["settle_power_w"] = deci(m.SettlementPower)
		out["tier_count"] = len(m.TierMinutes)
		out["tier_minutes"] = minuteList(m.TierMinutes)
	case *CardSwipe:
		out["socket_no"] = int(m.Socket)
		out["port"] = int(m.Port)
		out["business_no"] = int(m.BusinessNo)
		out["status"] = int(m.Status)
		out["card_no"] = m.Card.String()
		out["offline_params"] = hex.EncodeToString(m.Offline[:])
	case *CardOrder:
		out["socket_no"] = int(m.Socket)
		out["port"] = int(m.Port)
		out["business_no"] = int(m.BusinessNo)
		out["switch"] = int(m.Switch)
		out["mode"] = int(m.Mode)
		out["duration"] = int(m.Duration)
		out["energy_wh"] = int(m.Energy)
		if m.Mode == BillByPowerTiers {
			out["amount_fen"] = int(m.Amount)
			out["tier_count"] = len(m.Tiers)
			out["tiers"] = tierList(m.Tiers)
		}
	case *OrderConfirm:
		out["socket_no"] = int(m.Socket)
		out["port"] = int(m.Port)
		out["result"] = int(m.Result)
	case *CardEnd:
		endHeadFields(out, &m.EndHead)
		out["card_no"] = m.Card.String()
		out["card_type"] = int(m.CardType)
		out["billing_mode"] = int(m.BillingMode)
		out["amount_fen"] = int(m.Amount)
		out["settle_power_w"] = deci(m.SettlementPower)
		out["tier_count"] = len(m.TierMinutes)
		out["tier_minutes"] = minuteList(m.TierMinutes)
	case *CardEndReply:
		out["socket_no"] = int(m.Socket)
		out["result"] = int(m.Result)
	case *BalanceQuery:
		out["socket_no"] = int(m.Socket)
		out["port"] = int(m.Port)
		out["card_no"] = m.Card.String()
	case *Balance:
		out["socket_no"] = int(m.Socket)
		out["port"] = int(m.Port)
		out["card_no"] = m.Card.String()
		out["balance_fen"] = int(m.Balance)
	case *VoiceWindow:
		out["socket_no"] = int(m.Socket)
		out["port"] = int(m.Port)
		out["buzzer"] = int(m.Buzzer)
		out["voice"] = int(m.Voice)
		out["period_count"] = len(m.Periods)
		periods := make([]any, len(m.Periods))
		for i, p := range m.Periods {
			periods[i] = map[string]any{"start": p.Start.String(), "end": p.End.String()}
		}
		out["periods"] = periods
	case *VoiceResult:
		out["socket_no"] = int(m.Socket)
		out["port"] = int(m.Port)
		out["result"] = int(m.Result)
	case *RawSubCommand:
		out["params"] = hex.EncodeToString(m.Params)

	case *StatusReport:
		sockets := make([]any, len(m.Sockets))
		for i, s := range m.Sockets {
			sm := map[string]any{
				"socket_no":      int(s.Socket),
				"socket_version": fmt.Sprintf("%04x", s.SocketFirmware),
				"temperature":    int(s.Temperature),
				"rssi":           int(s.RSSI),
				"ports":          portList(s.Ports),
			}
			if len(s.Extra) > 0 {
				sm["extra"] = extraList(s.Extra)
			}
			sockets[i] = sm
		}
		out["sockets"] = sockets
	case *StatusReportAck:
		out["result"] = int(m.Result)
	case *FeeStart:
		out["socket_no"] = int(m.Socket)
		out["port"] = int(m.Port)
		out["switch"] = int(m.Switch)
		out["charge_mode"] = int(m.ChargeMode)
		out["control_type"] = int(m.ControlType)
		out["amount_fen"] = int(m.Amount)
		out["service_fee_mode"] = int(m.FeeBasis)
		out["tier_count"] = len(m.Periods)
		tiers := make([]any, len(m.Periods))
		for i, p := range m.Periods {
			tiers[i] = map[string]any{
				"end":                       p.End.String(),
				"elec_price_fen_per_kwh":    int(p.ElecPrice),
				"service_price_fen_per_kwh": int(p.ServicePrice),
			}
		}
		out["tiers"] = tiers
	case *FeeEnd:
		out["mcu_temperature"] = int(m.MCUTemperature)
		out["socket_no"] = int(m.Socket)
		out["port"] = int(m.Port)
		out["status"] = int(m.Status)
		out["business_no"] = int(m.BusinessNo)
		out["power_w"] = deci(m.Power)
		out["current_a"] = milli(m.Current)
		out["energy_wh"] = int(m.Energy)
		out["charge_min"] = int(m.Minutes)
		out["end_time"] = wallTime(m.EndTime)
		out["end_reason"] = int(m.EndReason)
		out["charge_mode"] = int(m.ChargeMode)
		out["elec_amount"] = int(m.ElecAmount)
		out["service_amount"] = int(m.ServiceAmount)
		out["tier_count"] = len(m.PeriodUsage)
		var usage []byte
		for _, u := range m.PeriodUsage {
			usage = append(usage, u[:]...)
		}
		out["tier_usage_hex"] = hex.EncodeToString(usage)
	case *FeeEndAck:
		out["result"] = int(m.Result)
		out["socket_no"] = int(m.Socket)
		out["port"] = int(m.Port)
	case *ExceptionEvent:
		out["socket_no"] = int(m.Socket)
		out["socket_event_reason"] = int(m.SocketEventReason)
		out["socket_event_status"] = int(m.SocketEventStatus)
		out["port1_event_reason"] = int(m.Port1EventReason)
		out["port1_event_status"] = int(m.Port1EventStatus)
		out["port2_event_reason"] = int(m.Port2EventReason)
		out["port2_event_status"] = int(m.Port2EventStatus)
		out["over_voltage"] = int(m.OverVoltage)
		out["under_voltage"] = int(m.UnderVoltage)
		out["port1_leakage"] = int(m.Port1Leakage)
		out["port2_leakage"] = int(m.Port2Leakage)
		out["port1_over_temp"] = int(m.Port1OverTemp)
		out["port2_over_temp"] = int(m.Port2OverTemp)
		out["port1_status"] = int(m.Port1Status)
		out["port2_status"] = int(m.Port2Status)
	case *ExceptionEventAck:
		out["socket_no"] = int(m.Socket)
		out["result"] = int(m.Result)
	case *ParamSet:
		out["socket_no"] = int(m.Socket)
		out["params"] = paramMap(m.Params)
	case *ParamSetResult:
		out["socket_no"] = int(m.Socket)
		out["result"] = int(m.Result)
	case *ParamQuery:
		out["socket_no"] = int(m.Socket)
	case *ParamQueryResult:
		out["socket_no"] = int(m.Socket)
		out["result"] = int(m.Result)
		out["params"] = paramMap(m.Params)
	case *ReconnectReport:
		out["socket_no"] = int(m.Socket)
	case *RawKV:
		// The items are listed under "kv".
	}
}

func endHeadFields(out map[string]any, h *EndHead) {
	out["socket_no"] = int(h.Socket)
	out["socket_version"] = fmt.Sprintf("%04x", h.SocketFirmware)
	out["temperature"] = int(h.Temperature)
	out["rssi"] = int(h.RSSI)
	out["port"] = int(h.Port)
	out["status"] = int(h.Status)
	out["business_no"] = int(h.BusinessNo)
	out["power_w"] = deci(h.Power)
	out["current_a"] = milli(h.Current)
	out["energy_wh"] = int(h.Energy)
	out["charge_min"] = int(h.Minutes)
}

func portList(ports []PortReport) []any {
	list := make([]any, len(ports))
	for i, p := range ports {
		pm := map[string]any{
			"port":        int(p.Port),
			"status":      int(p.Status),
			"business_no": int(p.BusinessNo),
			"voltage_v":   deci(p.Voltage),
			"power_w":     deci(p.Power),
			"current_a":   milli(p.Current),
			"energy_wh":   int(p.Energy),
			"charge_min":  int(p.Minutes),
		}
		if len(p.Extra) > 0 {
			pm["extra"] = extraList(p.Extra)
		}
		list[i] = pm
	}
	return list
}

func tierList(tiers []PowerTier) []any {
	list := make([]any, len(tiers))
	for i, t := range tiers {
		list[i] = map[string]any{"power_w": deci(t.MaxPower), "price_fen": int(t.Price), "duration_min": int(t.Minutes)}
	}
	return list
}

func minuteList(mins []uint16) []any {
	list := make([]any, len(mins))
	for i, m := range mins {
		list[i] = int(m)
	}
	return list
}

// paramMap names the parameters as the vectors do, in the units the names
// carry (§7.9).
func paramMap(params []Param) map[string]any {
	out := make(map[string]any, len(params))
	for _, p := range params {
		switch p.Key {
		case ParamFullChargeDelay:
			out["full_charge_delay_s"] = int(p.Value)
		case ParamNoLoadDelay:
			out["no_load_delay_s"] = int(p.Value)
		case ParamFullPowerThreshold:
			out["full_power_threshold_w"] = float64(p.Value) / 10
		case ParamNoLoadPowerThreshold:
			out["no_load_power_threshold_w"] = float64(p.Value) / 10
		case ParamHighTemperature:
			out["high_temp_threshold"] = int(p.Value)
		case ParamPowerLimit:
			out["power_limit_w"] = float64(p.Value) / 10
		case ParamMaxChargeMinutes:
			out["max_charge_min"] = int(p.Value)
		case ParamTrickleThreshold:
			out["trickle_threshold_pct"] = int(p.Value)
		case ParamOverCurrentLimit:
			out["overcurrent_limit_a"] = float64(p.Value) / 1000
		case ParamKeyBaseAmount:
			out["key_base_amount"] = int(p.Value)
		case ParamAntiPulseTime:
			out["anti_pulse_time"] = int(p.Value)
		default:
			out[fmt.Sprintf("param_0x%02x", uint8(p.Key))] = int(p.Value)
		}
	}
	return out
}

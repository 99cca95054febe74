package ykc

import "fmt"

// GunState is the gun status of 0x13 real-time data (ykc.md §7). A pile that
// is charging must never report GunIdle (§8: two idle frames make the order
// abnormal).
type GunState uint8

// Gun states (ykc.md §7 "0x13 status").
const (
	GunOffline  GunState = 0
	GunFault    GunState = 1
	GunIdle     GunState = 2
	GunCharging GunState = 3
)

// String returns the state's name ("charging").
func (s GunState) String() string {
	switch s {
	case GunOffline:
		return "offline"
	case GunFault:
		return "fault"
	case GunIdle:
		return "idle"
	case GunCharging:
		return "charging"
	}
	return fmt.Sprintf("GunState(%d)", uint8(s))
}

// Period is a tariff period (ykc.md §6 0x0A slot values, §9): the index
// into TariffModel.Tariffs and TransactionRecord.Periods, and the value of
// each half-hour slot.
type Period uint8

// Tariff periods (ykc.md §6 0x0A: 0 sharp, 1 peak, 2 flat, 3 valley).
const (
	Sharp  Period = 0
	Peak   Period = 1
	Flat   Period = 2
	Valley Period = 3
)

// String returns the period's name as used in Inspect keys ("valley").
func (p Period) String() string {
	switch p {
	case Sharp:
		return "sharp"
	case Peak:
		return "peak"
	case Flat:
		return "flat"
	case Valley:
		return "valley"
	}
	return fmt.Sprintf("Period(%d)", uint8(p))
}

// AuthFailure is the failure reason of a 0x32 start authorisation
// (ykc.md §7). It implements error so that an adapter can return it; 0 means
// no failure.
type AuthFailure uint8

// Authorisation failure reasons (ykc.md §7 "0x32 failure reason").
const (
	AuthNoAccount         AuthFailure = 0x01
	AuthAccountFrozen     AuthFailure = 0x02
	AuthBalanceTooLow     AuthFailure = 0x03
	AuthCardUnsettled     AuthFailure = 0x04
	AuthPileDisabled      AuthFailure = 0x05
	AuthAccountNotAllowed AuthFailure = 0x06
	AuthWrongPassword     AuthFailure = 0x07
	AuthStationCapacity   AuthFailure = 0x08
	AuthVINUnknown        AuthFailure = 0x09
	AuthPileUnsettled     AuthFailure = 0x0A
	AuthCardsNotAccepted  AuthFailure = 0x0B
)

// Error describes the reason.
func (c AuthFailure) Error() string {
	var why string
	switch c {
	case AuthNoAccount:
		why = "no account"
	case AuthAccountFrozen:
		why = "account frozen"
	case AuthBalanceTooLow:
		why = "balance too low"
	case AuthCardUnsettled:
		why = "card has an unsettled record"
	case AuthPileDisabled:
		why = "pile disabled"
	case AuthAccountNotAllowed:
		why = "account not allowed on this pile"
	case AuthWrongPassword:
		why = "wrong password"
	case AuthStationCapacity:
		why = "station capacity insufficient"
	case AuthVINUnknown:
		why = "VIN unknown"
	case AuthPileUnsettled:
		why = "pile has an unsettled record"
	case AuthCardsNotAccepted:
		why = "pile does not accept cards"
	default:
		return fmt.Sprintf("ykc: start authorisation failed (reason 0x%02x)", uint8(c))
	}
	return "ykc: start authorisation failed: " + why
}

// StartFailure is the failure reason of a 0x33 remote start result
// (ykc.md §7). It implements error; 0 means no failure.
type StartFailure uint8

// Remote start failure reasons (ykc.md §7 "0x33 failure reason"; the spec's
// table numbers two rows "4", §11.10).
const (
	StartPileMismatch    StartFailure = 1
	StartGunCharging     StartFailure = 2
	StartFault           StartFailure = 3
	StartOffline         StartFailure = 4
	StartGunNotConnected StartFailure = 5
)

// Error describes the reason.
func (c StartFailure) Error() string {
	switch c {
	case StartPileMismatch:
		return "ykc: remote start failed: pile code mismatch"
	case StartGunCharging:
		return "ykc: remote start failed: gun already charging"
	case StartFault:
		return "ykc: remote start failed: fault"
	case StartOffline:
		return "ykc: remote start failed: offline"
	case StartGunNotConnected:
		return "ykc: remote start failed: gun not plugged"
	}
	return fmt.Sprintf("ykc: remote start failed (reason %d)", uint8(c))
}

// StopFailure is the failure reason of a 0x35 remote stop result
// (ykc.md §7). It implements error; 0 means no failure.
type StopFailure uint8

// Remote stop failure reasons (ykc.md §7 "0x35 failure reason").
const (
	StopPileMismatch   StopFailure = 1
	StopGunNotCharging StopFailure = 2
	StopOther          StopFailure = 3
)

// Error describes the reason.
func (c StopFailure) Error() string {
	switch c {
	case StopPileMismatch:
		return "ykc: remote stop failed: pile code mismatch"
	case StopGunNotCharging:
		return "ykc: remote stop failed: gun not charging"
	case StopOther:
		return "ykc: remote stop failed: other"
	}
	return fmt.Sprintf("ykc: remote stop failed (reason %d)", uint8(c))
}

// TradeFlag says how a session was started (ykc.md §7 "0x3B trade flag"; the
// spec's example calls 0x02 "app start", the table says card, §11.8).
type TradeFlag uint8

// Trade flags.
const (
	TradeApp         TradeFlag = 1
	TradeCard        TradeFlag = 2
	TradeOfflineCard TradeFlag = 4
	TradeVIN         TradeFlag = 5
)

// String returns how the session was started ("card").
func (f TradeFlag) String() string {
	switch f {
	case TradeApp:
		return "app"
	case TradeCard:
		return "card"
	case TradeOfflineCard:
		return "offline card"
	case TradeVIN:
		return "VIN"
	}
	return fmt.Sprintf("TradeFlag(%d)", uint8(f))
}

// StopReason is why a session ended (ykc.md §7 "Stop reasons", the spec's
// appendix 13.1 — its 0x3B row says "11.1", §11.8). 0x40–0x49 are normal
// completions, 0x4A–0x69 failures to start, 0x6A–0x8F aborts, 0x90 unknown.
type StopReason uint8

// Completed reports a normal end (0x40–0x49).
func (r StopReason) Completed() bool { return r >= 0x40 && r <= 0x49 }

// StartFailed reports a session that never started (0x4A–0x69).
func (r StopReason) StartFailed() bool { return r >= 0x4A && r <= 0x69 }

// Aborted reports a session ended abnormally (0x6A–0x8F).
func (r StopReason) Aborted() bool { return r >= 0x6A && r <= 0x8F }

// String describes the reason per ykc.md §7; reserved values print as
// StopReason(0xNN).
func (r StopReason) String() string {
	if s := stopReasonName(r); s != "" {
		return s
	}
	return fmt.Sprintf("StopReason(0x%02x)", uint8(r))
}

func stopReasonName(r StopReason) string {
	switch r {
	case 0x40:
		return "app stop"
	case 0x41:
		return "SOC 100%"
	case 0x42:
		return "energy reached"
	case 0x43:
		return "amount reached"
	case 0x44:
		return "time reached"
	case 0x45:
		return "manual stop"
	case 0x4A:
		return "start failed: control system fault"
	case 0x4B:
		return "start failed: pilot disconnected"
	case 0x4C:
		return "start failed: breaker tripped"
	case 0x4D:
		return "start failed: meter comms"
	case 0x4E:
		return "start failed: balance too low"
	case 0x4F:
		return "start failed: charging module fault"
	case 0x50:
		return "start failed: emergency stop"
	case 0x51:
		return "start failed: surge protector"
	case 0x52:
		return "start failed: BMS not ready"
	case 0x53:
		return "start failed: temperature"
	case 0x54:
		return "start failed: battery reversed"
	case 0x55:
		return "start failed: electronic lock"
	case 0x56:
		return "start failed: contactor closing failed"
	case 0x57:
		return "start failed: insulation"
	case 0x59:
		return "start failed: BHM timeout"
	case 0x5A:
		return "start failed: BRM timeout"
	case 0x5B:
		return "start failed: BCP timeout"
	case 0x5C:
		return "start failed: BRO-AA timeout"
	case 0x5D:
		return "start failed: BCS timeout"
	case 0x5E:
		return "start failed: BCL timeout"
	case 0x5F:
		return "start failed: BSM timeout"
	case 0x60:
		return "start failed: battery voltage not allowed at BHM"
	case 0x61:
		return "start failed: BRO-AA voltage differs from BCP"
	case 0x62:
		return "start failed: BRO-AA fell back to BRO-00"
	case 0x63:
		return "start failed: host configuration timeout"
	case 0x64:
		return "start failed: charger not ready"
	case 0x6A:
		return "aborted: system lock-out"
	case 0x6B:
		return "aborted: pilot disconnected"
	case 0x6C:
		return "aborted: breaker tripped"
	case 0x6D:
		return "aborted: meter comms"
	case 0x6E:
		return "aborted: balance too low"
	case 0x6F:
		return "aborted: AC protection"
	case 0x70:
		return "aborted: DC protection"
	case 0x71:
		return "aborted: charging module fault"
	case 0x72:
		return "aborted: emergency stop"
	case 0x73:
		return "aborted: surge protector"
	case 0x74:
		return "aborted: temperature"
	case 0x75:
		return "aborted: output fault"
	case 0x76:
		return "aborted: no current"
	case 0x77:
		return "aborted: electronic lock"
	case 0x79:
		return "aborted: total voltage"
	case 0x7A:
		return "aborted: total current"
	case 0x7B:
		return "aborted: cell voltage"
	case 0x7C:
		return "aborted: pack over-temperature"
	case 0x7D:
		return "aborted: highest cell voltage"
	case 0x7E:
		return "aborted: highest pack temperature"
	case 0x7F:
		return "aborted: BMV cell voltage"
	case 0x80:
		return "aborted: BMT pack over-temperature"
	case 0x81:
		return "aborted: battery status"
	case 0x82:
		return "aborted: vehicle forbids charging"
	case 0x83:
		return "aborted: pile lost power"
	case 0x84:
		return "aborted: BCS timeout"
	case 0x85:
		return "aborted: BCL timeout"
	case 0x86:
		return "aborted: BSM timeout"
	case 0x87:
		return "aborted: BST timeout"
	case 0x88:
		return "aborted: BSD timeout"
	case 0x89:
		return "aborted: CCS timeout"
	case 0x90:
		return "unknown"
	}
	return ""
}

// Hardware fault bits of 0x13 (ykc.md §7; "bit 1" is taken as the least
// significant bit, which the spec leaves open, §10).
const (
	FaultEmergencyStop   uint16 = 1 << 0
	FaultNoRectifier     uint16 = 1 << 1
	FaultOutletOverTemp  uint16 = 1 << 2
	FaultACSurge         uint16 = 1 << 3
	FaultDC20Comms       uint16 = 1 << 4
	FaultFC08Comms       uint16 = 1 << 5
	FaultMeterComms      uint16 = 1 << 6
	FaultCardReaderComms uint16 = 1 << 7
	FaultRC10Comms       uint16 = 1 << 8
	FaultFanBoard        uint16 = 1 << 9
	FaultDCFuse          uint16 = 1 << 10
	FaultHVContactor     uint16 = 1 << 11
	FaultDoorOpen        uint16 = 1 << 12
)

package ap3000

import "fmt"

// Result codes carried by replies. Each implements error so a caller can
// return a non-zero code as is; Err returns nil for success.

// Answer is the one-byte answer of most replies: 0 success, anything else a
// failure (ap3000.md §5 "Answer"; 1 = bad parameter for 0x83, over the device
// limit for 0x85, unsupported for 0x8D).
type Answer uint8

// AnswerOK is the success answer.
const AnswerOK Answer = 0

// Error describes a non-zero answer.
func (a Answer) Error() string { return fmt.Sprintf("ap3000: answer %d", uint8(a)) }

// Err returns nil for AnswerOK and a itself otherwise.
func (a Answer) Err() error {
	if a == AnswerOK {
		return nil
	}
	return a
}

// ChargeResult is the device's answer to 0x82 start/stop (ap3000.md §8).
type ChargeResult uint8

// 0x82 answers (ap3000.md §8 "0x82 answer").
const (
	ChargeOK             ChargeResult = 0x00 // done
	ChargeNoPlug         ChargeResult = 0x01 // no charger plugged
	ChargeSameState      ChargeResult = 0x02 // port already in that state
	ChargePortFault      ChargeResult = 0x03 // port fault (still executed)
	ChargeNoSuchPort     ChargeResult = 0x04 // no such port
	ChargeSeveralWaiting ChargeResult = 0x05 // several ports waiting (see waiting-port bits)
	ChargePowerBudget    ChargeResult = 0x06 // multi-port power budget exceeded
	ChargeMemoryFault    ChargeResult = 0x07 // memory fault
	ChargeRelayOrFuse    ChargeResult = 0x08 // pre-check: relay or fuse
	ChargeRelayWelded    ChargeResult = 0x09 // pre-check: relay welded (still executed)
	ChargeShortCircuit   ChargeResult = 0x0A // pre-check: short circuit
	ChargeSmokeAlarm     ChargeResult = 0x0B // smoke alarm
	ChargeOverVoltage    ChargeResult = 0x0C // over-voltage
	ChargeUnderVoltage   ChargeResult = 0x0D // under-voltage
	ChargeNoResponse     ChargeResult = 0x0E // no response
)

// String returns the answer's meaning from ap3000.md §8.
func (r ChargeResult) String() string {
	names := [...]string{
		"done", "no charger plugged", "port already in that state", "port fault (still executed)",
		"no such port", "several ports waiting", "multi-port power budget exceeded", "memory fault",
		"pre-check: relay or fuse", "pre-check: relay welded (still executed)", "pre-check: short circuit",
		"smoke alarm", "over-voltage", "under-voltage", "no response",
	}
	if int(r) < len(names) {
		return names[r]
	}
	return fmt.Sprintf("answer %d", uint8(r))
}

// Error describes a non-zero answer.
func (r ChargeResult) Error() string { return "ap3000: charge: " + r.String() }

// Err returns nil for ChargeOK and r itself otherwise. Note that
// ChargePortFault and ChargeRelayWelded report a fault although the command
// was still executed.
func (r ChargeResult) Err() error {
	if r == ChargeOK {
		return nil
	}
	return r
}

// ChangeResult is the device's answer to 0x8A (ap3000.md §8 "0x8A answer").
type ChangeResult uint8

// 0x8A answers.
const (
	ChangeOK          ChangeResult = 0 // ok
	ChangeNotCharging ChangeResult = 1 // port not charging
	ChangeBelowUsed   ChangeResult = 2 // below the value already used
	ChangeBadRequest  ChangeResult = 3 // bad mode/port
)

// Error describes a non-zero answer.
func (r ChangeResult) Error() string {
	switch r {
	case ChangeNotCharging:
		return "ap3000: change: port not charging"
	case ChangeBelowUsed:
		return "ap3000: change: below the value already used"
	case ChangeBadRequest:
		return "ap3000: change: bad mode or port"
	}
	return fmt.Sprintf("ap3000: change: answer %d", uint8(r))
}

// Err returns nil for ChangeOK and r itself otherwise.
func (r ChangeResult) Err() error {
	if r == ChangeOK {
		return nil
	}
	return r
}

// FirmwareResult is the device's answer to a firmware packet (ap3000.md §8
// "Firmware answer").
type FirmwareResult uint8

// Firmware answers.
const (
	FirmwareOK            FirmwareResult = 0 // ok, send the next packet
	FirmwarePacketError   FirmwareResult = 1 // packet error, resend
	FirmwareImageChecksum FirmwareResult = 2 // image checksum error
	FirmwareWrongDevice   FirmwareResult = 3 // wrong device type
	FirmwareNoCheckPacket FirmwareResult = 4 // no check packet
	FirmwarePacket0Type   FirmwareResult = 5 // packet 0 device type wrong
)

// Error describes a non-zero answer.
func (r FirmwareResult) Error() string { return fmt.Sprintf("ap3000: firmware answer %d", uint8(r)) }

// Err returns nil for FirmwareOK and r itself otherwise.
func (r FirmwareResult) Err() error {
	if r == FirmwareOK {
		return nil
	}
	return r
}

// PortStatus is a port's state in 0x01 / 0x21 heartbeats (ap3000.md §8).
type PortStatus uint8

// Port states (ap3000.md §8 "Port status"). 0x0C is not assigned.
const (
	PortIdle            PortStatus = 0x00
	PortCharging        PortStatus = 0x01
	PortPlugged         PortStatus = 0x02 // charger attached, not started
	PortFull            PortStatus = 0x03 // charger attached, full
	PortCannotMeter     PortStatus = 0x04
	PortFloatCharging   PortStatus = 0x05
	PortMemoryFault     PortStatus = 0x06
	PortContactStuck    PortStatus = 0x07
	PortPoorContact     PortStatus = 0x08 // poor contact / fuse blown
	PortRelayWelded     PortStatus = 0x09 // detected by the algorithm
	PortPlugSensorFault PortStatus = 0x0A
	PortPreCheckRelay   PortStatus = 0x0B // pre-check: relay or fuse
	PortPreCheckShort   PortStatus = 0x0D // pre-check: short circuit
	PortPreCheckWelded  PortStatus = 0x0E // pre-check: relay welded
	PortCardReaderFault PortStatus = 0x0F
	PortDetectionFault  PortStatus = 0x10 // detection circuit fault
)

// String returns the status's meaning from ap3000.md §8.
func (s PortStatus) String() string {
	names := [...]string{
		"idle", "charging", "plugged", "full", "cannot meter", "float charging", "memory fault",
		"contact stuck", "poor contact", "relay welded", "plug sensor fault", "pre-check relay or fuse",
		"", "pre-check short circuit", "pre-check relay welded", "card reader fault", "detection circuit fault",
	}
	if int(s) < len(names) && names[s] != "" {
		return names[s]
	}
	return fmt.Sprintf("PortStatus(%d)", uint8(s))
}

// StartMode says how a session was started (ap3000.md §8 "Start mode").
type StartMode uint8

// Start modes.
const (
	StartOfflineCard StartMode = 0 // offline card
	StartOnline      StartMode = 1 // server 0x82
	StartCode        StartMode = 3 // verification code (ap3000.md §10)
)

// StopReason is why a session ended, in 0x03 / 0x43 (ap3000.md §8 "Stop
// reasons"); the values run from 1 (full) to 0x1C (low-power cut-off).
type StopReason uint8

// The stop reasons an adapter most often branches on (ap3000.md §8).
const (
	StopFull         StopReason = 0x01
	StopMaxTime      StopReason = 0x02
	StopPresetTime   StopReason = 0x03
	StopPresetEnergy StopReason = 0x04
	StopUnplugged    StopReason = 0x05
	StopOverload     StopReason = 0x06
	StopServer       StopReason = 0x07
)

// CardType is the kind of card in 0x02 (ap3000.md §8 "Card type").
type CardType uint8

// Card types.
const (
	CardExisting       CardType = 0 // existing card
	CardNew            CardType = 1 // new (blank) card
	CardBalance        CardType = 2 // balance card (deprecated)
	CardUIDOnly        CardType = 3 // UID only
	CardSocialSecurity CardType = 4 // number in CardSwipe.Card2
)

// AccountStatus is the server's verdict in the 0x02 reply; each value has a
// voice prompt on the device (ap3000.md §8 "Account status").
type AccountStatus uint8

// The account states of the usual server rule (ap3000.md §8); the others run
// up to 0x12.
const (
	AccountNormal       AccountStatus = 0x00
	AccountUnregistered AccountStatus = 0x01
	AccountBindCard     AccountStatus = 0x02
	AccountUnbindCard   AccountStatus = 0x03
	AccountLowBalance   AccountStatus = 0x06
)

// RateMode is the tariff mode of 0x82 and the 0x02 reply (ap3000.md §7.3).
type RateMode uint8

// Rate modes.
const (
	RateTimed   RateMode = 0 // duration in seconds
	RateMonthly RateMode = 1 // monthly pass; stops when full
	RateMetered RateMode = 2 // energy in 0.01 kWh
	RatePerUse  RateMode = 3 // per use; stops when full
)

// ChargeAction is the start/stop byte of 0x82 (ap3000.md §7.2).
type ChargeAction uint8

// Charge actions.
const (
	ActionStop  ChargeAction = 0
	ActionStart ChargeAction = 1
)

// AlarmType is the push type of 0x42 (ap3000.md §8 "Alarm push type").
type AlarmType uint8

// Alarm types.
const (
	AlarmPowerCut   AlarmType = 1
	AlarmWater      AlarmType = 2
	AlarmHotMelt    AlarmType = 3
	AlarmSmoke      AlarmType = 4
	AlarmHeat       AlarmType = 5
	AlarmWaterLevel AlarmType = 6
	AlarmDoorForced AlarmType = 7
)

package bkv

import "fmt"

// VoicePeriod is one window in which sounds are allowed (§6.2 "1B down").
type VoicePeriod struct {
	Start, End TimeOfDay
}

// maxVoicePeriods is the most periods a voice window carries (§6.2: ≤ 2).
const maxVoicePeriods = 2

// SocketAll is the socket number that addresses every socket of the gateway
// in the voice command (§1).
const SocketAll uint8 = 254

// VoiceWindow sets when a socket may sound (0x1B down): socket 1 (254 =
// all), port 1, buzzer 1, voice 1, period count 1 (≤ 2), per period: start
// hh mm 2, end hh mm 2 (binary hour and minute) (§6.2, §7.11).
type VoiceWindow struct {
	Socket  uint8
	Port    uint8
	Buzzer  Switch
	Voice   Switch
	Periods []VoicePeriod
}

func (*VoiceWindow) dir() Direction { return Down }

// SubCommand returns SubVoice.
func (*VoiceWindow) SubCommand() uint8 { return SubVoice }

func (m *VoiceWindow) decodeParams(c *cursor) {
	m.Socket = c.u8("socket")
	m.Port = c.u8("port")
	m.Buzzer = Switch(c.u8("buzzer"))
	m.Voice = Switch(c.u8("voice"))
	n := c.count("period count", 4, maxVoicePeriods)
	if n == 0 {
		return
	}
	m.Periods = make([]VoicePeriod, n)
	for i := range m.Periods {
		p := &m.Periods[i]
		p.Start = TimeOfDay{Hour: c.u8("start hour"), Minute: c.u8("start minute")}
		p.End = TimeOfDay{Hour: c.u8("end hour"), Minute: c.u8("end minute")}
	}
}

func (m *VoiceWindow) appendParams(dst []byte) ([]byte, error) {
	if len(m.Periods) > maxVoicePeriods {
		return dst, errAt(len(dst)+4, "period count", fmt.Errorf("%w: %d periods, at most %d", ErrBadValue, len(m.Periods), maxVoicePeriods))
	}
	dst = append(dst, m.Socket, m.Port, byte(m.Buzzer), byte(m.Voice), byte(len(m.Periods)))
	for _, p := range m.Periods {
		dst = append(dst, p.Start.Hour, p.Start.Minute, p.End.Hour, p.End.Minute)
	}
	return dst, nil
}

// VoiceResult is the gateway's answer to VoiceWindow (0x1B up): socket 1,
// port 1, result 1 (§6.2).
type VoiceResult struct {
	Socket uint8
	Port   uint8
	Result Result
}

func (*VoiceResult) dir() Direction { return Up }

// SubCommand returns SubVoice.
func (*VoiceResult) SubCommand() uint8 { return SubVoice }

func (m *VoiceResult) decodeParams(c *cursor) {
	m.Socket = c.u8("socket")
	m.Port = c.u8("port")
	m.Result = Result(c.u8("result"))
}

func (m *VoiceResult) appendParams(dst []byte) ([]byte, error) {
	return append(dst, m.Socket, m.Port, byte(m.Result)), nil
}

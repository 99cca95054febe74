package bkv

import "fmt"

// Socket parameters, BKV commands 0x1011 (set) and 0x1012 (query) (§7.9).

// ParamKey is the key of a socket parameter (§7.9 table).
type ParamKey uint8

// Parameter keys (§7.9). The comment gives the unit; the keys marked "query
// reply only" were seen only in the guide's 0x1012 reply.
const (
	ParamOverCurrentLimit     ParamKey = 0x10 // 0.001 A (query reply only)
	ParamPowerLimit           ParamKey = 0x11 // 0.1 W
	ParamFullChargeDelay      ParamKey = 0x21 // s: full-charge continue time
	ParamNoLoadDelay          ParamKey = 0x22 // s
	ParamFullPowerThreshold   ParamKey = 0x23 // 0.1 W
	ParamNoLoadPowerThreshold ParamKey = 0x24 // 0.1 W
	ParamHighTemperature      ParamKey = 0x25 // presumably °C
	ParamMaxChargeMinutes     ParamKey = 0x59 // min
	ParamTrickleThreshold     ParamKey = 0x60 // % (query reply only)
	ParamKeyBaseAmount        ParamKey = 0x68 // unit not stated (query reply only)
	ParamAntiPulseTime        ParamKey = 0x93 // unit not stated (query reply only)
	Param98                   ParamKey = 0x98 // undocumented (query reply only)
	Param99                   ParamKey = 0x99 // undocumented (query reply only)
	Param9A                   ParamKey = 0x9A // undocumented (query reply only)
	Param9B                   ParamKey = 0x9B // undocumented (query reply only)
)

// Size returns the value size in bytes of a known parameter (§7.9), or 0
// for a key this package does not know as a parameter.
func (k ParamKey) Size() int {
	switch k {
	case ParamOverCurrentLimit, ParamPowerLimit, ParamFullChargeDelay, ParamNoLoadDelay,
		ParamFullPowerThreshold, ParamNoLoadPowerThreshold, ParamMaxChargeMinutes, ParamAntiPulseTime:
		return 2
	case ParamHighTemperature, ParamTrickleThreshold, Param98, Param99, Param9A, Param9B:
		return 1
	case ParamKeyBaseAmount:
		return 4
	}
	return 0
}

// Param is one socket parameter in wire units (see the ParamKey constants).
type Param struct {
	Key   ParamKey
	Value uint32
}

// paramKey reports whether an item's key is a known parameter.
func paramKey(it *kvItem) (ParamKey, bool) {
	k, ok := it.number()
	if !ok || k > 0xff || ParamKey(k).Size() == 0 {
		return 0, false
	}
	return ParamKey(k), true
}

func decodeParam(it *kvItem, k ParamKey) (Param, error) {
	v, err := it.uint(fmt.Sprintf("param 0x%02x", uint8(k)), k.Size())
	return Param{Key: k, Value: uint32(v)}, err
}

// appendParams writes the parameters in the order given (the guide's set and
// query examples use different orders, so the order is the caller's).
func appendParams(w *kvWriter, params []Param) {
	for _, p := range params {
		n := p.Key.Size()
		if n == 0 || (n < 4 && p.Value >= 1<<(8*n)) {
			w.fail(fmt.Sprintf("param 0x%02x", uint8(p.Key)), fmt.Errorf("%w: unknown key or value %d too big", ErrBadValue, p.Value))
			return
		}
		var b [4]byte
		for i := 0; i < n; i++ {
			b[i] = byte(p.Value >> (8 * (n - 1 - i)))
		}
		w.put(uint64(p.Key), b[:n])
	}
}

// ParamSet sets socket parameters (0x1000/0x1011 down): key 0x4A socket and
// only the parameters to change (§7.9). The gateway answers with
// ParamSetResult under the same msg id.
type ParamSet struct {
	Seq    uint64 // key 0x02: the frame's msg id, zero-extended (§4)
	Socket uint8
	Params []Param
	Extra  []Extra
}

func (*ParamSet) dir() Direction { return Down }

// BKVCommand returns BKVParamSet.
func (*ParamSet) BKVCommand() uint16 { return BKVParamSet }

func (m *ParamSet) seq() *uint64 { return &m.Seq }

func (m *ParamSet) extras() []Extra { return m.Extra }

func (m *ParamSet) decodeItems(l *kvList) error {
	var seen keySet
	for {
		it, ok, err := l.next()
		if err != nil || !ok {
			return err
		}
		if k, isParam := paramKey(&it); isParam {
			p, err := decodeParam(&it, k)
			if err != nil {
				return err
			}
			m.Params = append(m.Params, p)
			continue
		}
		switch it.key() {
		case keySocket:
			m.Socket, err = it.u8("socket")
		default:
			m.Extra = append(m.Extra, it.extra())
			continue
		}
		if err == nil {
			err = seen.once(&it)
		}
		if err != nil {
			return err
		}
	}
}

func (m *ParamSet) appendItems(w *kvWriter) {
	w.u8(keySocket, m.Socket)
	appendParams(w, m.Params)
}

// ParamSetResult is the gateway's answer to ParamSet (0x1000/0x1011 up):
// keys 0x4A socket, 0x0F result (§7.9).
type ParamSetResult struct {
	Seq    uint64 // key 0x02: echoes the command's (§4)
	Socket uint8
	Result Result
	Extra  []Extra
}

func (*ParamSetResult) dir() Direction { return Up }

// BKVCommand returns BKVParamSet.
func (*ParamSetResult) BKVCommand() uint16 { return BKVParamSet }

func (m *ParamSetResult) seq() *uint64 { return &m.Seq }

func (m *ParamSetResult) extras() []Extra { return m.Extra }

func (m *ParamSetResult) decodeItems(l *kvList) error {
	return decodeSocketResult(l, &m.Socket, &m.Result, &m.Extra)
}

func (m *ParamSetResult) appendItems(w *kvWriter) {
	w.u8(keySocket, m.Socket)
	w.u8(keyResult, uint8(m.Result))
}

// ParamQuery reads a socket's parameters (0x1000/0x1012 down): key 0x4A
// socket (§7.9). The gateway answers with ParamQueryResult.
type ParamQuery struct {
	Seq    uint64 // key 0x02: the frame's msg id, zero-extended (§4)
	Socket uint8
	Extra  []Extra
}

func (*ParamQuery) dir() Direction { return Down }

// BKVCommand returns BKVParamQuery.
func (*ParamQuery) BKVCommand() uint16 { return BKVParamQuery }

func (m *ParamQuery) seq() *uint64 { return &m.Seq }

func (m *ParamQuery) extras() []Extra { return m.Extra }

func (m *ParamQuery) decodeItems(l *kvList) error {
	var seen keySet
	for {
		it, ok, err := l.next()
		if err != nil || !ok {
			return err
		}
		switch it.key() {
		case keySocket:
			m.Socket, err = it.u8("socket")
		default:
			m.Extra = append(m.Extra, it.extra())
			continue
		}
		if err == nil {
			err = seen.once(&it)
		}
		if err != nil {
			return err
		}
	}
}

func (m *ParamQuery) appendItems(w *kvWriter) {
	w.u8(keySocket, m.Socket)
}

// ParamQueryResult is the gateway's answer to ParamQuery (0x1000/0x1012 up):
// keys 0x4A socket, 0x0F result, then every parameter, in the gateway's
// order (§7.9).
type ParamQueryResult struct {
	Seq    uint64 // key 0x02: echoes the command's (§4)
	Socket uint8
	Result Result
	Params []Param
	Extra  []Extra
}

func (*ParamQueryResult) dir() Direction { return Up }

// BKVCommand returns BKVParamQuery.
func (*ParamQueryResult) BKVCommand() uint16 { return BKVParamQuery }

func (m *ParamQueryResult) seq() *uint64 { return &m.Seq }

func (m *ParamQueryResult) extras() []Extra { return m.Extra }

func (m *ParamQueryResult) decodeItems(l *kvList) error {
	var seen keySet
	for {
		it, ok, err := l.next()
		if err != nil || !ok {
			return err
		}
		if k, isParam := paramKey(&it); isParam {
			p, err := decodeParam(&it, k)
			if err != nil {
				return err
			}
			m.Params = append(m.Params, p)
			continue
		}
		var r uint8
		switch it.key() {
		case keySocket:
			m.Socket, err = it.u8("socket")
		case keyResult:
			r, err = it.u8("result")
			m.Result = Result(r)
		default:
			m.Extra = append(m.Extra, it.extra())
			continue
		}
		if err == nil {
			err = seen.once(&it)
		}
		if err != nil {
			return err
		}
	}
}

func (m *ParamQueryResult) appendItems(w *kvWriter) {
	w.u8(keySocket, m.Socket)
	w.u8(keyResult, uint8(m.Result))
	appendParams(w, m.Params)
}

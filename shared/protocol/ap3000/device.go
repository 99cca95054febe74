package ap3000

// Maintenance and display commands, server → device (ap3000.md §5, §7.2).

// SetWorkMode sets the work mode, 0x8D down: 0 networked, 1 card (ap3000.md §5,
// §7.2). The request and the device's answer can be the same bytes (ap3000.md §12.7,
// vector ap3000-8d-up-1).
type SetWorkMode struct {
	Mode  uint8 // 0 networked, 1 card
	Extra []byte
}

// Command returns CmdSetWorkMode.
func (*SetWorkMode) Command() Command { return CmdSetWorkMode }

// Direction returns Down.
func (*SetWorkMode) Direction() Direction { return Down }

func decodeSetWorkMode(b []byte) (*SetWorkMode, error) {
	v, off, err := readU8(b, HeaderSize, "work_mode")
	if err != nil {
		return nil, err
	}
	return &SetWorkMode{Mode: v, Extra: rest(b, off)}, nil
}

func (m *SetWorkMode) appendData(dst []byte) ([]byte, error) {
	return append(append(dst, m.Mode), m.Extra...), nil
}

func (m *SetWorkMode) fields(f map[string]any) {
	f["work_mode"] = int(m.Mode)
	putExtra(f, m.Extra)
}

// SetCardTariffMode sets the card-only tariff mode, 0x8F down (ap3000.md §5, §7.2).
type SetCardTariffMode struct {
	Mode  uint8 // 0 timed, 1 per-use, 3 metered, 4 fixed fee, 5 home, 6 free
	Extra []byte
}

// Command returns CmdSetCardTariffMode.
func (*SetCardTariffMode) Command() Command { return CmdSetCardTariffMode }

// Direction returns Down.
func (*SetCardTariffMode) Direction() Direction { return Down }

func decodeSetCardTariffMode(b []byte) (*SetCardTariffMode, error) {
	v, off, err := readU8(b, HeaderSize, "work_mode")
	if err != nil {
		return nil, err
	}
	return &SetCardTariffMode{Mode: v, Extra: rest(b, off)}, nil
}

func (m *SetCardTariffMode) appendData(dst []byte) ([]byte, error) {
	return append(append(dst, m.Mode), m.Extra...), nil
}

func (m *SetCardTariffMode) fields(f map[string]any) {
	f["work_mode"] = int(m.Mode)
	putExtra(f, m.Extra)
}

// Locate makes the device beep and blink for a number of seconds, 0x96 down (ap3000.md §5, §7.2).
type Locate struct {
	Seconds uint8 // seconds
	Extra   []byte
}

// Command returns CmdLocate.
func (*Locate) Command() Command { return CmdLocate }

// Direction returns Down.
func (*Locate) Direction() Direction { return Down }

func decodeLocate(b []byte) (*Locate, error) {
	v, off, err := readU8(b, HeaderSize, "seconds")
	if err != nil {
		return nil, err
	}
	return &Locate{Seconds: v, Extra: rest(b, off)}, nil
}

func (m *Locate) appendData(dst []byte) ([]byte, error) {
	return append(append(dst, m.Seconds), m.Extra...), nil
}

func (m *Locate) fields(f map[string]any) {
	f["seconds"] = int(m.Seconds)
	putExtra(f, m.Extra)
}

// SetMute sets the run parameter 1.3 (mute), 0x97 down (ap3000.md §5, §7.2).
type SetMute struct {
	Mute  uint8
	Extra []byte
}

// Command returns CmdSetMute.
func (*SetMute) Command() Command { return CmdSetMute }

// Direction returns Down.
func (*SetMute) Direction() Direction { return Down }

func decodeSetMute(b []byte) (*SetMute, error) {
	v, off, err := readU8(b, HeaderSize, "mute")
	if err != nil {
		return nil, err
	}
	return &SetMute{Mute: v, Extra: rest(b, off)}, nil
}

func (m *SetMute) appendData(dst []byte) ([]byte, error) {
	return append(append(dst, m.Mute), m.Extra...), nil
}

func (m *SetMute) fields(f map[string]any) {
	f["mute"] = int(m.Mute)
	putExtra(f, m.Extra)
}

// MultiFunction is the multi-function command, 0x98 down; function 0 forces
// a cabinet door open (ap3000.md §5, §7.2).
type MultiFunction struct {
	Function uint8
	Port     uint8
	Extra    []byte
}

// Command returns CmdMultiFunction.
func (*MultiFunction) Command() Command { return CmdMultiFunction }

// Direction returns Down.
func (*MultiFunction) Direction() Direction { return Down }

func decodeMultiFunction(b []byte) (*MultiFunction, error) {
	m := &MultiFunction{}
	off := HeaderSize
	var err error
	if m.Function, off, err = readU8(b, off, "function"); err != nil {
		return nil, err
	}
	if m.Port, off, err = readU8(b, off, "port"); err != nil {
		return nil, err
	}
	m.Extra = rest(b, off)
	return m, nil
}

func (m *MultiFunction) appendData(dst []byte) ([]byte, error) {
	return append(append(dst, m.Function, m.Port), m.Extra...), nil
}

func (m *MultiFunction) fields(f map[string]any) {
	f["function"] = int(m.Function)
	f["port"] = int(m.Port)
	putExtra(f, m.Extra)
}

// PlayVoice plays voice segments, 0x89 down. The guide marks it reserved and
// not usable (ap3000.md §5, §7.2); it is decoded so that it can be logged.
type PlayVoice struct {
	Interrupt uint8
	// Segments are the segment numbers, one byte each, preceded on the wire
	// by their count.
	Segments []byte
	Extra    []byte
}

// Command returns CmdPlayVoice.
func (*PlayVoice) Command() Command { return CmdPlayVoice }

// Direction returns Down.
func (*PlayVoice) Direction() Direction { return Down }

func decodePlayVoice(b []byte) (*PlayVoice, error) {
	m := &PlayVoice{}
	off := HeaderSize
	var err error
	if m.Interrupt, off, err = readU8(b, off, "interrupt"); err != nil {
		return nil, err
	}
	var n uint8
	if n, off, err = readU8(b, off, "segment_count"); err != nil {
		return nil, err
	}
	if m.Segments, off, err = readBytes(b, off, int(n), "segments"); err != nil {
		return nil, err
	}
	m.Extra = rest(b, off)
	return m, nil
}

func (m *PlayVoice) appendData(dst []byte) ([]byte, error) {
	if len(m.Segments) > 0xFF {
		return dst, encodeError("segments", "more than 255 segments")
	}
	dst = append(dst, m.Interrupt, byte(len(m.Segments)))
	dst = append(dst, m.Segments...)
	return append(dst, m.Extra...), nil
}

func (m *PlayVoice) fields(f map[string]any) {
	f["interrupt"] = int(m.Interrupt)
	f["segment_count"] = len(m.Segments)
	seg := make([]any, len(m.Segments))
	for i, s := range m.Segments {
		seg[i] = int(s)
	}
	f["segments"] = seg
	putExtra(f, m.Extra)
}

// ReadEEPROM reads device EEPROM, 0x8B down (ap3000.md §5, §7.2).
type ReadEEPROM struct {
	Addr   uint16
	Length uint8 // the guide allows ≤ 32 (§5); not enforced, the device decides
	Extra  []byte
}

// Command returns CmdReadEEPROM.
func (*ReadEEPROM) Command() Command { return CmdReadEEPROM }

// Direction returns Down.
func (*ReadEEPROM) Direction() Direction { return Down }

func decodeReadEEPROM(b []byte) (*ReadEEPROM, error) {
	m := &ReadEEPROM{}
	off := HeaderSize
	var err error
	if m.Addr, off, err = readU16(b, off, "eeprom_addr"); err != nil {
		return nil, err
	}
	if m.Length, off, err = readU8(b, off, "data_len"); err != nil {
		return nil, err
	}
	m.Extra = rest(b, off)
	return m, nil
}

func (m *ReadEEPROM) appendData(dst []byte) ([]byte, error) {
	dst = appendU16(dst, m.Addr)
	return append(append(dst, m.Length), m.Extra...), nil
}

func (m *ReadEEPROM) fields(f map[string]any) {
	f["eeprom_addr"] = int(m.Addr)
	f["data_len"] = int(m.Length)
	putExtra(f, m.Extra)
}

// ReadEEPROMReply is the device's answer to ReadEEPROM, 0x8B up: an answer
// byte, then the data read (ap3000.md §7.2 "Device replies").
type ReadEEPROMReply struct {
	Answer Answer
	Data   []byte // the rest of the frame; empty when the read failed
}

// Command returns CmdReadEEPROM.
func (*ReadEEPROMReply) Command() Command { return CmdReadEEPROM }

// Direction returns Up.
func (*ReadEEPROMReply) Direction() Direction { return Up }

func decodeReadEEPROMReply(b []byte) (*ReadEEPROMReply, error) {
	a, data, err := decodeAnswer(b)
	if err != nil {
		return nil, err
	}
	return &ReadEEPROMReply{Answer: Answer(a), Data: data}, nil
}

func (m *ReadEEPROMReply) appendData(dst []byte) ([]byte, error) {
	return append(append(dst, byte(m.Answer)), m.Data...), nil
}

func (m *ReadEEPROMReply) fields(f map[string]any) {
	f["answer"] = int(m.Answer)
	f["data_hex"] = hexString(m.Data)
}

// WriteEEPROM writes device EEPROM, 0x8C down: address, length, data
// (ap3000.md §5, §7.2).
type WriteEEPROM struct {
	Addr  uint16
	Data  []byte // ≤ 32 bytes by the guide (§5); its length goes on the wire before it
	Extra []byte
}

// Command returns CmdWriteEEPROM.
func (*WriteEEPROM) Command() Command { return CmdWriteEEPROM }

// Direction returns Down.
func (*WriteEEPROM) Direction() Direction { return Down }

func decodeWriteEEPROM(b []byte) (*WriteEEPROM, error) {
	m := &WriteEEPROM{}
	off := HeaderSize
	var err error
	if m.Addr, off, err = readU16(b, off, "eeprom_addr"); err != nil {
		return nil, err
	}
	var n uint8
	if n, off, err = readU8(b, off, "data_len"); err != nil {
		return nil, err
	}
	if m.Data, off, err = readBytes(b, off, int(n), "data"); err != nil {
		return nil, err
	}
	m.Extra = rest(b, off)
	return m, nil
}

func (m *WriteEEPROM) appendData(dst []byte) ([]byte, error) {
	if len(m.Data) > 0xFF {
		return dst, encodeError("data", "more than 255 bytes")
	}
	dst = appendU16(dst, m.Addr)
	dst = append(dst, byte(len(m.Data)))
	dst = append(dst, m.Data...)
	return append(dst, m.Extra...), nil
}

func (m *WriteEEPROM) fields(f map[string]any) {
	f["eeprom_addr"] = int(m.Addr)
	f["data_len"] = len(m.Data)
	f["data_hex"] = hexString(m.Data)
	putExtra(f, m.Extra)
}

// Text field sizes (ap3000.md §7.2).
const (
	screenQRSize = 72
	tempQRSize   = 200
)

// SetScreen sets the QR content and what the main screen shows, 0x8E down,
// newer firmware (ap3000.md §5, §7.2).
type SetScreen struct {
	MainScreen uint8   // 0 port status, 1 QR
	Reserved   [3]byte // kept as sent
	// QR is the QR text, at most 72 bytes, NUL-padded on the wire (the guide
	// wants the last byte NUL). Trailing NULs are dropped on decode.
	QR    string
	Extra []byte
}

// Command returns CmdSetScreen.
func (*SetScreen) Command() Command { return CmdSetScreen }

// Direction returns Down.
func (*SetScreen) Direction() Direction { return Down }

func decodeSetScreen(b []byte) (*SetScreen, error) {
	m := &SetScreen{}
	off := HeaderSize
	var err error
	if m.MainScreen, off, err = readU8(b, off, "main_ui"); err != nil {
		return nil, err
	}
	if off, err = readInto(b, off, m.Reserved[:], "reserved"); err != nil {
		return nil, err
	}
	if m.QR, off, err = readText(b, off, screenQRSize, "qr"); err != nil {
		return nil, err
	}
	m.Extra = rest(b, off)
	return m, nil
}

func (m *SetScreen) appendData(dst []byte) ([]byte, error) {
	dst = append(dst, m.MainScreen)
	dst = append(dst, m.Reserved[:]...)
	dst, err := appendText(dst, m.QR, screenQRSize, "qr")
	if err != nil {
		return dst, err
	}
	return append(dst, m.Extra...), nil
}

func (m *SetScreen) fields(f map[string]any) {
	f["main_ui"] = int(m.MainScreen)
	f["qr"] = m.QR
	putExtra(f, m.Extra)
}

// TempQRCode shows a temporary QR code on screen models, 0x95 down
// (ap3000.md §5, §7.2).
type TempQRCode struct {
	// QR is the text, at most 200 bytes, NUL-padded on the wire. Trailing
	// NULs are dropped on decode.
	QR    string
	Extra []byte
}

// Command returns CmdTempQRCode.
func (*TempQRCode) Command() Command { return CmdTempQRCode }

// Direction returns Down.
func (*TempQRCode) Direction() Direction { return Down }

func decodeTempQRCode(b []byte) (*TempQRCode, error) {
	qr, off, err := readText(b, HeaderSize, tempQRSize, "qr")
	if err != nil {
		return nil, err
	}
	return &TempQRCode{QR: qr, Extra: rest(b, off)}, nil
}

func (m *TempQRCode) appendData(dst []byte) ([]byte, error) {
	dst, err := appendText(dst, m.QR, tempQRSize, "qr")
	if err != nil {
		return dst, err
	}
	return append(dst, m.Extra...), nil
}

func (m *TempQRCode) fields(f map[string]any) {
	f["qr"] = m.QR
	putExtra(f, m.Extra)
}

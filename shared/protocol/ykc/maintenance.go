package ykc

// Reboot and remote upgrade (ykc.md §6 0x91–0x94).

// When a reboot or upgrade takes effect (ykc.md §6 0x92, 0x94).
const (
	ControlNow      uint8 = 1
	ControlWhenIdle uint8 = 2
)

// Reboot restarts the pile, 0x92 down; the pile answers with RebootResult
// (ykc.md §6 0x92). The control byte is binary, not the ASCII digit
// ykc-proxy-server writes (§12).
type Reboot struct {
	PileCode string
	Control  uint8 // ControlNow, ControlWhenIdle
}

// FrameType returns TypeReboot.
func (*Reboot) FrameType() Type { return TypeReboot }

func (m *Reboot) decodeBody(b []byte, off int) (int, error) {
	return decodePileResult(b, off, &m.PileCode, &m.Control, "control")
}

func (m *Reboot) appendBody(w *writer) {
	w.bcd(m.PileCode, pileCodeSize, "pile_code")
	w.u8(m.Control)
}

func (m *Reboot) fields(f map[string]any) {
	f["pile_code"] = m.PileCode
	f["control"] = int(m.Control)
}

// RebootResult answers Reboot, 0x91 up (ykc.md §6 0x91).
type RebootResult struct {
	PileCode string
	Result   uint8 // 0 fail, 1 ok
}

// FrameType returns TypeRebootResult.
func (*RebootResult) FrameType() Type { return TypeRebootResult }

func (m *RebootResult) decodeBody(b []byte, off int) (int, error) {
	return decodePileResult(b, off, &m.PileCode, &m.Result, "result")
}

func (m *RebootResult) appendBody(w *writer) {
	w.bcd(m.PileCode, pileCodeSize, "pile_code")
	w.u8(m.Result)
}

func (m *RebootResult) fields(f map[string]any) {
	f["pile_code"] = m.PileCode
	f["result"] = int(m.Result)
}

// Upgrade tells the pile to fetch firmware over FTP, 0x94 down; the pile
// answers with UpgradeResult (ykc.md §6 0x94).
type Upgrade struct {
	PileCode  string
	PileModel uint8 // 1 DC, 2 AC
	// PilePower is the pile's power; the unit is not stated (kW presumably,
	// ykc.md §10).
	PilePower uint16
	Server    string // 16 ASCII
	Port      uint16
	User      string // 16 ASCII
	Password  string // 16 ASCII
	Path      string // 32 ASCII
	Control   uint8  // ControlNow, ControlWhenIdle
	Timeout   uint8  // download timeout, min
}

// FrameType returns TypeUpgrade.
func (*Upgrade) FrameType() Type { return TypeUpgrade }

// decodeBody reads §6 0x94: P, pile model, pile power 2, server 16, port 2,
// user 16, password 16, path 32, control, timeout (94 bytes).
func (m *Upgrade) decodeBody(b []byte, off int) (int, error) {
	var err error
	if m.PileCode, off, err = readBCD(b, off, pileCodeSize, "pile_code"); err != nil {
		return off, err
	}
	if m.PileModel, off, err = readU8(b, off, "pile_model"); err != nil {
		return off, err
	}
	if m.PilePower, off, err = readU16(b, off, "pile_power"); err != nil {
		return off, err
	}
	if m.Server, off, err = readASCII(b, off, 16, "server"); err != nil {
		return off, err
	}
	if m.Port, off, err = readU16(b, off, "port"); err != nil {
		return off, err
	}
	if m.User, off, err = readASCII(b, off, 16, "user"); err != nil {
		return off, err
	}
	if m.Password, off, err = readASCII(b, off, 16, "password"); err != nil {
		return off, err
	}
	if m.Path, off, err = readASCII(b, off, 32, "path"); err != nil {
		return off, err
	}
	if m.Control, off, err = readU8(b, off, "control"); err != nil {
		return off, err
	}
	m.Timeout, off, err = readU8(b, off, "timeout_min")
	return off, err
}

func (m *Upgrade) appendBody(w *writer) {
	w.bcd(m.PileCode, pileCodeSize, "pile_code")
	w.u8(m.PileModel)
	w.u16(m.PilePower)
	w.ascii(m.Server, 16, "server")
	w.u16(m.Port)
	w.ascii(m.User, 16, "user")
	w.ascii(m.Password, 16, "password")
	w.ascii(m.Path, 32, "path")
	w.u8(m.Control)
	w.u8(m.Timeout)
}

// fields includes the FTP password, as the vectors expect; the raw frame
// carries it in clear text anyway, so frame logs are Debug-only (STYLE §7).
func (m *Upgrade) fields(f map[string]any) {
	f["pile_code"] = m.PileCode
	f["pile_model"] = int(m.PileModel)
	f["pile_power"] = int(m.PilePower)
	f["server"] = m.Server
	f["port"] = int(m.Port)
	f["user"] = m.User
	f["password"] = m.Password
	f["path"] = m.Path
	f["control"] = int(m.Control)
	f["timeout_min"] = int(m.Timeout)
}

// UpgradeResult answers Upgrade, 0x93 up (ykc.md §6 0x93).
type UpgradeResult struct {
	PileCode string
	// Status is 0 ok, 1 wrong pile, 2 firmware does not fit the model,
	// 3 download timeout.
	Status uint8
}

// FrameType returns TypeUpgradeResult.
func (*UpgradeResult) FrameType() Type { return TypeUpgradeResult }

func (m *UpgradeResult) decodeBody(b []byte, off int) (int, error) {
	return decodePileResult(b, off, &m.PileCode, &m.Status, "result")
}

func (m *UpgradeResult) appendBody(w *writer) {
	w.bcd(m.PileCode, pileCodeSize, "pile_code")
	w.u8(m.Status)
}

func (m *UpgradeResult) fields(f map[string]any) {
	f["pile_code"] = m.PileCode
	f["result"] = int(m.Status)
}

package ykc

// Heartbeat is the pile's heartbeat, 0x03 up, every 10 s per gun; after three
// missed HeartbeatReply frames the pile logs in again (ykc.md §6 0x03, §8).
type Heartbeat struct {
	PileCode  string
	Gun       string
	GunStatus uint8 // 0 normal, 1 fault
}

// FrameType returns TypeHeartbeat.
func (*Heartbeat) FrameType() Type { return TypeHeartbeat }

// decodeBody reads §6 0x03: P, G, gun status (9 bytes).
func (m *Heartbeat) decodeBody(b []byte, off int) (int, error) {
	var err error
	if m.PileCode, m.Gun, off, err = readPileGun(b, off); err != nil {
		return off, err
	}
	m.GunStatus, off, err = readU8(b, off, "gun_status")
	return off, err
}

func (m *Heartbeat) appendBody(w *writer) {
	w.pileGun(m.PileCode, m.Gun)
	w.u8(m.GunStatus)
}

func (m *Heartbeat) fields(f map[string]any) {
	putPileGun(f, m.PileCode, m.Gun)
	f["gun_status"] = int(m.GunStatus)
}

// HeartbeatReply is the platform's answer to Heartbeat, 0x04 down
// (ykc.md §6 0x04).
type HeartbeatReply struct {
	PileCode string
	Gun      string
	Reply    uint8 // always 0
}

// FrameType returns TypeHeartbeatReply.
func (*HeartbeatReply) FrameType() Type { return TypeHeartbeatReply }

// decodeBody reads §6 0x04: P, G, 0 (9 bytes).
func (m *HeartbeatReply) decodeBody(b []byte, off int) (int, error) {
	var err error
	if m.PileCode, m.Gun, off, err = readPileGun(b, off); err != nil {
		return off, err
	}
	m.Reply, off, err = readU8(b, off, "reply")
	return off, err
}

func (m *HeartbeatReply) appendBody(w *writer) {
	w.pileGun(m.PileCode, m.Gun)
	w.u8(m.Reply)
}

func (m *HeartbeatReply) fields(f map[string]any) {
	putPileGun(f, m.PileCode, m.Gun)
	f["reply"] = int(m.Reply)
}

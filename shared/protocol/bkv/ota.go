package bkv

import (
	"fmt"
	"net/netip"
)

// OTATargetGateway is the OTA target byte for the gateway (DTU) itself
// (§6.3, §10); other values are not documented.
const OTATargetGateway uint8 = 1

// OTA tells the gateway to fetch firmware over FTP (command 0x0007 down, no
// inner envelope, §6.3, §7.11). No credentials, reply or progress report are
// documented; an up 0x0007 decodes to *Raw.
type OTA struct {
	Target uint8          // 1 = the gateway (OTATargetGateway)
	Server netip.AddrPort // FTP server: IPv4 4 bytes, then port 2 bytes
	File   string         // file name, 13 ASCII bytes NUL-padded ("GV.8r12.OTA")
}

func (*OTA) dir() Direction { return Down }

func (m *OTA) decode(c *cursor) {
	m.Target = c.u8("target")
	var ip [4]byte
	c.into("ftp ip", ip[:])
	port := c.u16("ftp port")
	m.File = c.text("file name", 13)
	m.Server = netip.AddrPortFrom(netip.AddrFrom4(ip), port)
}

func (m *OTA) append(dst []byte) ([]byte, error) {
	addr := m.Server.Addr()
	if !addr.Is4() {
		return dst, errAt(len(dst)+1, "ftp ip", fmt.Errorf("%w: %v is not an IPv4 address", ErrBadValue, addr))
	}
	ip := addr.As4()
	dst = append(dst, m.Target)
	dst = append(dst, ip[:]...)
	dst = appendU16(dst, m.Server.Port())
	return appendText(dst, "file name", m.File, 13)
}

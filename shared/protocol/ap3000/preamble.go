package ap3000

// The unframed bytes a device's radio module writes on the same socket
// (ap3000.md §1, from the vendor Q&A [Q]). Split returns each as its own unit
// and Decode turns it into one of these bodies, with a zero Frame header.

const (
	// ICCIDSize is the length of the SIM ICCID a module sends on connect:
	// 20 ASCII digits (ap3000.md §1).
	ICCIDSize = 20
	// linkKeepAlive is the keep-alive a module sends after 30 s without
	// traffic (ap3000.md §1).
	linkKeepAlive = "link"
)

// ICCID is the SIM ICCID (20 ASCII digits) a module sends, unframed and
// unanswered, right after it connects (ap3000.md §1).
type ICCID struct {
	Value string
}

// Command returns 0: the ICCID is not a DNY frame.
func (*ICCID) Command() Command { return 0 }

// Direction returns Up.
func (*ICCID) Direction() Direction { return Up }

func (m *ICCID) appendData(dst []byte) ([]byte, error) {
	if len(m.Value) != ICCIDSize || !allDigits(m.Value) {
		return dst, encodeError("iccid", "an ICCID is 20 ASCII digits")
	}
	return append(dst, m.Value...), nil
}

func (m *ICCID) fields(f map[string]any) {
	f["kind"] = "iccid"
	f["iccid"] = m.Value
}

// Link is the 4-byte ASCII keep-alive "link" a module sends after 30 s
// without traffic; it needs no reply (ap3000.md §1).
type Link struct{}

// Command returns 0: "link" is not a DNY frame.
func (*Link) Command() Command { return 0 }

// Direction returns Up.
func (*Link) Direction() Direction { return Up }

func (*Link) appendData(dst []byte) ([]byte, error) { return append(dst, linkKeepAlive...), nil }

func (*Link) fields(f map[string]any) { f["kind"] = "link" }

// decodePreamble returns the body for a whole preamble unit, or nil.
func decodePreamble(frame []byte) Message {
	switch {
	case string(frame) == linkKeepAlive:
		return &Link{}
	case len(frame) == ICCIDSize && allDigits(string(frame)):
		return &ICCID{Value: string(frame)}
	}
	return nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func allDigits(s string) bool {
	for i := range len(s) {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// Package ap3000 is the wire codec for the AP3000 ("DNY") protocol that
// e-bike charging sockets, multi-port piles and charging cabinets speak to
// the server over one long-lived TCP connection.
//
// It owns framing, checksums, and the decoding and encoding of every command
// of the vendor's device–server guide v8.6, in both directions. It does no
// I/O, keeps no state, reads no clock and does not log: bytes go in, values
// and an error come out. Turning messages into protocol-neutral events, and
// deciding on replies, belongs to edge/adapter. The reference is
// shared/protocols/ap3000.md beside this repository (section numbers in
// comments, "§n", point into it), with test vectors in
// shared/protocols/vectors/ap3000.json (copied to testdata/vectors.json).
//
// # Three steps
//
// Split finds one unit at the start of a stream buffer, Decode (or DecodeDir)
// turns it into a *Frame whose Body is one concrete struct per message type,
// and Append encodes a *Frame. Inspect returns a frame's fields under the
// names the vectors and the frame-inspection tool use.
//
// # Frame layout (§2)
//
//	offset  size  field
//	0       3     "DNY"
//	3       2     length L = bytes from the physical id through the checksum
//	5       4     physical id (top byte device code, low 24 bits device number; §3)
//	9       2     message id (a reply echoes the command's; §4)
//	11      1     command (§5)
//	12      n     data (§7)
//	12+n    2     checksum: sum of all preceding bytes, low 16 bits
//
// Integers are little-endian; a frame is L+5 bytes, 14 at least. Frames above
// MaxFrameSize (1 KiB) are treated as garbage. Ports are numbered from 0.
// Money is in fen, durations in seconds, voltage 0.1 V, power 0.1 W, energy
// 0.01 kWh, current 0.001 A (§6); wire structs keep these units and only
// Inspect converts. Times are Unix seconds on the wire and decode to
// time.Time in UTC: they are real instants, so no device wall clock or zone
// is involved, and Append writes t.Unix().
//
// The module also writes unframed bytes on the same socket (§1): the SIM
// ICCID (20 ASCII digits) right after connecting and "link" after 30 s of
// silence. Split returns each as a unit of its own and Decode returns *ICCID
// or *Link with a zero header. Sniff looks for "DNY" within the first 32
// bytes, after any such units.
//
// # Direction
//
// The header does not say which way a frame travels, and many commands have
// one layout as a server command and another as the device's reply. Decode
// reads the device → server layout (what a server receives); DecodeDir takes
// the direction; Inspect can infer it. A command unknown in the chosen
// direction decodes to *Raw, which keeps its bytes; it is never an error.
//
// # Optional fields and Extra
//
// The guide has added trailing fields over the years and older firmware
// omits them (§0). Which optional fields are present is decided from the
// frame length alone; they are pointers (or nil slices) in the structs.
// Bytes after the last field this package knows are kept in Extra, so
// Append(Decode(frame)) reproduces frame byte for byte.
//
// # Errors
//
// Every error from Split, Decode, DecodeDir and Inspect is an *Error with
// the byte offset and field name; errors.Is finds the cause among
// ErrBadHeader, ErrShortFrame, ErrBadLength, ErrTooLarge, ErrChecksum,
// ErrShortData and ErrDirection. Reply codes are typed (Answer,
// ChargeResult, ChangeResult, FirmwareResult) and implement error.
//
// # Known errors in the vendor guide
//
// Where a real frame and the guide disagree, the frame wins:
//
//   - "At most 256 bytes per packet" (§12.1) is contradicted by the guide's
//     own 0xF8 upgrade packet of 274 bytes (vector ap3000-f8-down-1): the cap
//     is MaxFrameSize.
//   - The 0x20 example carries 10 data bytes where the table defines 8
//     (§12.2, vector ap3000-20-up-1): the unexplained bytes are kept in
//     Register.Extra, not rejected.
//   - Example temperatures in 0x01 / 0x21 are stale under the −65 rule
//     (§12.3, vectors ap3000-01-up-1, ap3000-21-up-1), and the 0x02, 0x03,
//     0x06, 0x82 and 0x85 examples use older, shorter layouts (vectors
//     ap3000-02-up-1, ap3000-03-up-1, ap3000-06-up-1, ap3000-82-down-1,
//     ap3000-85-down-1): temperatures stay raw and optional fields are
//     detected from the length.
//   - The 0x06 minimum power is described with the text of the maximum
//     (§12.4); 0x82's short-circuit check calls both 0 and 1 "do not check"
//     (§12.5); 0x42's port byte is described both as a port and as a 485
//     address (§12.6, vector ap3000-42-up-1). These fields are kept raw.
//   - The 0x8D example shows request and reply as the same bytes (§12.7,
//     vectors ap3000-8d-down-1, ap3000-8d-up-1): valid, both are 0.
//
// The seed project's framing (whole-frame length, ASCII id) is not AP3000 and
// is rejected (§11, vector ap3000-seedcode-bad-1).
package ap3000

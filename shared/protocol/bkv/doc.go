// Package bkv is the codec for the BKV networked e-bike charging gateway
// protocol (vendor guide "组网版设备 嵌入式对接指引 V1.7"): a gateway (DTU)
// holds one TCP connection and relays for up to 250 radio-paired sockets of
// two ports each.
//
// The package owns the bytes on the wire and nothing more. Split finds frames
// in a TCP stream, Decode turns one frame into a *Frame whose Body is one
// concrete message type (*Heartbeat, *StatusReport, …), Append encodes,
// Sniff recognises a BKV connection from its first bytes, and Inspect names
// the fields for the frame-inspection tool and raw-frame logs. It does no
// I/O, keeps no state, reads no clock, starts no goroutines and does not log.
// Answering heartbeats, matching replies to commands, sessions and the
// conversion to protocol-neutral events belong to edge/adapter. Any package
// may import it; it imports only the standard library.
//
// # Reference
//
// The protocol reference is bkv.md in the shared protocol folder beside
// this repository (../../../../shared/protocols/bkv.md from this directory);
// the "§" numbers in comments are its sections, and the tags [G] guide, [C]
// captured device, [K] BKV encoding, [I] inferred follow it. Its test
// vectors are copied byte for byte to testdata/vectors.json, and
// TestVectorsInSync fails when the copy drifts.
//
// # Frame layout (§3)
//
// Integers are big-endian.
//
//	offset  size  field
//	0       2     header: FC FE sent by the gateway (Up), FC FF by the platform (Down)
//	2       2     length L: bytes after this field; total frame size L + 4
//	4       2     command: 0x0000 heartbeat, 0x0005/0x0015 inner envelope, 0x0007 OTA, 0x1000 BKV key-value
//	6       4     msg id (correlation rules in §4)
//	10      1     packet type: 1 up, 0 down; must agree with the header
//	11      7     gateway id
//	18      n     payload, n = L − 17
//	18+n    1     checksum: sum of bytes 2 … 17+n, modulo 256
//	19+n    2     tail FC EE
//
// Commands 0x0005 and 0x0015 carry [inner length 2][sub-command 1][parameters]
// where the inner length counts only the parameters (§6.1). Command 0x1000
// carries a list of BKV key-value items (§8.1) that starts with key 0x01
// (BKV command), 0x02 (sequence) and 0x03 (gateway id). Several
// sub-commands and BKV commands exist in both directions with different
// layouts; Decode picks the layout by the header's direction. Frames above
// MaxFrameSize (2 KiB) are garbage.
//
// # What decoding guarantees
//
// Unknown commands, sub-commands and BKV commands decode to *Raw,
// *RawSubCommand and *RawKV, and unknown KV keys are kept in each message's
// Extra with their position, never rejected (§8.1). Every valid vector and
// every frame Decode accepts re-encodes with Append to a frame that decodes
// to the same value; frames in canonical form (all vectors) re-encode to the
// same bytes. Decoded values never alias the input. Every error from Split,
// Decode, Inspect and Append is an *Error with the byte offset and field, and
// a sentinel cause for errors.Is.
//
// Values stay in wire units: voltage 0.1 V, power 0.1 W, current 0.001 A,
// energy 1 Wh (§6.2; not the seed code's 0.01 kWh), money in fen. Times
// (the heartbeat reply and KV key 0x2E in BCD, the 0x18 end time in binary,
// §11) are the device's wall clock: Decode returns their fields as time.UTC
// without any zone conversion, and Append writes the wall-clock fields of the
// time.Time it is given, in that value's own location. Seven zero bytes are
// the zero time.Time.
//
// # Vendor-guide errors handled (§12)
//
// Where the guide's text and its checksummed frame disagree, the frame wins.
//
//   - §2.2.8 control: printed checksum C8 is wrong, the frame is rejected
//     (bkv-control-down-1); with D8 it decodes (bkv-control-down-2).
//   - 0x1007 fee start: length 0x0063 for 89 bytes is rejected as a short
//     frame (bkv-svcstart-down-1); the corrected frame decodes and its
//     unexplained key 0xF4 is kept (bkv-svcstart-down-2).
//   - OTA: the printed digit 'g' makes the example no byte sequence at all
//     (bkv-ota-down-1); read as '0' it decodes (bkv-ota-down-2).
//   - §2.2.3 card end by power: printed one byte short and rejected
//     (bkv-cardend-up-2); with the status byte 0x98 restored it decodes
//     (bkv-cardend-up-3).
//   - §2.2.3 order confirmation: the explanation's checksum 98 is wrong, the
//     frame's 7C is right (bkv-cardconfirm-up-1).
//   - §2.2.1 power-tier start travels under 0x0005 although the text says
//     0x0015: sub-commands decode the same under either command
//     (bkv-powerstart-down-1).
//   - §2.2.2 power-tier end: settlement power and tier minutes are the
//     frame's, not the explanation's (bkv-powerend-up-1).
//   - §2.2.4 status query: the reply carries sub-command 0x1C, not 1D, and
//     the query's length is 0x0015, not 001d (bkv-query-up-1,
//     bkv-query-down-1).
//   - §2.2.4 (advanced) balance reply: port 01 as in the frame, not 00
//     (bkv-balance-down-1).
//   - §2.2.3 status ack: the explanation's 5-byte msg id is a misprint; the
//     frame has the normal 4 bytes (bkv-status-down-1).
//   - §2.2.7 key 0x03 "socket MAC" is the gateway id and must equal the
//     header's (bkv-paramquery-down-1).
//
// Seed-code frames that are rejected: an inner length that counts the
// sub-command (bkv-powerstart-down-3, bkv-seedcode-bad-3), a heartbeat with
// a 5-byte payload (bkv-seedtest-bad-1), an up 0x0C with the reply's layout
// (bkv-seedtest-bad-2), and a checksum not updated after an edit
// (bkv-svcend-up-3).
//
// Layouts inferred [I] and to be confirmed with the vendor (§14): the 0x1C
// port block, the 0x0A delete-node payload (socket and MAC, as for 0x09), the
// 0x17 reply (as the 0x07 reply) and card-order mode 2 = energy.
package bkv
